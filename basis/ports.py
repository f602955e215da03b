"""Port checks with messages that name the port, its owner and the setting to change."""

from __future__ import annotations

import socket
from dataclasses import dataclass


@dataclass(frozen=True)
class PortClaim:
    host: str
    port: int
    what: str  # "API", "Temporal frontend", ...
    setting: str  # environment variable that moves it


class PortInUseError(Exception):
    def __init__(self, claim: PortClaim) -> None:
        self.claim = claim
        super().__init__(
            f"port {claim.port} ({claim.what}) is already in use on {claim.host}: "
            f"stop what holds it or set {claim.setting} to a free port"
        )


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # Match how servers bind, so a socket in TIME_WAIT does not count as taken.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def check_ports(claims: list[PortClaim]) -> None:
    seen: dict[int, PortClaim] = {}
    for claim in claims:
        if claim.port in seen:
            other = seen[claim.port]
            raise ValueError(
                f"port {claim.port} is configured for both {other.what} ({other.setting}) and "
                f"{claim.what} ({claim.setting}): give one of them another port"
            )
        seen[claim.port] = claim
        if not port_is_free(claim.host, claim.port):
            raise PortInUseError(claim)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port
