"""Token mints and decimals of the assets Asgard trades for us (Solana mainnet addresses;
the emulator uses the same ones so paper and live look alike)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from models.domain import Asset


@dataclass(frozen=True, slots=True)
class Token:
    symbol: str
    mint: str
    decimals: int

    def to_native(self, amount: Decimal) -> int:
        """Token units to the integer base units on chain (rounded down: never ask to move
        more than was meant)."""
        return int(amount.scaleb(self.decimals).to_integral_value(rounding="ROUND_FLOOR"))

    def from_native(self, native: int | str) -> Decimal:
        return Decimal(int(native)).scaleb(-self.decimals)


USDC = Token("USDC", "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", 6)
WSOL = Token("SOL", "So11111111111111111111111111111111111111112", 9)
JITOSOL = Token("jitoSOL", "J1toso1uCk3RLmjorhTtrVwY9HJ7X8V9yYac6Y7kGCPn", 9)
JUPSOL = Token("jupSOL", "jupSoLaHXQiZZTSfEWMTRRgpnyFm8f6sZdosWBjx93v", 9)
INF = Token("INF", "5oVNBeEEQvYi1cX3ir8Dx5n1P7pdxydbGF2X4TxVusJm", 9)

TOKENS: dict[Asset, Token] = {
    Asset.SOL: WSOL,
    Asset.JITOSOL: JITOSOL,
    Asset.JUPSOL: JUPSOL,
    Asset.INF: INF,
}
BY_MINT: dict[str, Token] = {t.mint: t for t in (USDC, WSOL, JITOSOL, JUPSOL, INF)}
ASSET_BY_MINT: dict[str, Asset] = {t.mint: a for a, t in TOKENS.items()}


def token_of(asset: Asset) -> Token:
    return TOKENS[asset]
