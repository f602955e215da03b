"""The Asgard client against the emulator: parsing, Asgard's error shapes and what is
retryable, positions by wallet and by PDA, and refusals the emulator must make."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest
from solders.keypair import Keypair
from solders.message import to_bytes_versioned
from solders.transaction import VersionedTransaction

from models.domain import Asset, Protocol
from tests.venues.asgard.harness import Venue, running_venue
from venues.asgard import (
    AsgardClient,
    AsgardLogicalError,
    AsgardServerError,
    AsgardUnavailable,
    CollateralType,
    HealthUnit,
    OpenRequest,
    PositionNotFound,
    UnsupportedOperation,
    UpdateAction,
)
from venues.asgard.tokens import JITOSOL
from venues.emulators.asgard import EmulatorConfig
from venues.market.random_walk import default_protocols
from venues.solana import MemorySubmissionStore


def _client(venue: Venue, **kw: object) -> AsgardClient:
    client = AsgardClient(venue.asgard_url, "test-key", **kw)  # type: ignore[arg-type]
    venue.clients.append(client)
    return client


async def _request(client: AsgardClient, wallet: Keypair, amount: str = "1000") -> OpenRequest:
    market = (await client.markets())[Asset.JITOSOL]
    src = market.source(Protocol.KAMINO)
    assert src is not None
    return OpenRequest(
        wallet=str(wallet.pubkey()),
        asset=Asset.JITOSOL,
        protocol=Protocol.KAMINO,
        token_a_bank=src.token_a_bank,
        token_b_bank=src.token_b_bank,
        collateral_type=CollateralType.DEBT_TOKEN,
        collateral_amount=Decimal(amount),
        collateral_unit_price=Decimal(1),
        leverage=Decimal(3),
    )


async def test_markets_list_every_asset_and_protocol_with_exact_rates(venue: Venue) -> None:
    markets = await _client(venue).markets()
    assert set(markets) == set(Asset)
    kamino = next(p for p in default_protocols() if p.protocol is Protocol.KAMINO)
    src = markets[Asset.JITOSOL].source(Protocol.KAMINO)
    assert src is not None and src.active
    assert src.lend_apy == kamino.lend_apy["jitoSOL"] == Decimal("0.005")
    assert src.borrow_apy == kamino.borrow_apy["USDC"]
    assert src.liquidation_ltv == kamino.liquidation_ltv
    assert src.capacity_usd == kamino.borrow_capacity_usd
    assert markets[Asset.JITOSOL].price_usd == Decimal(150)


@pytest.mark.parametrize("status", [500, 503])
async def test_server_errors_are_retryable(venue: Venue, status: int) -> None:
    venue.fault("http_error", "asgard:markets", status=status, count=1)
    with pytest.raises(AsgardServerError) as exc:
        await _client(venue).markets()
    assert exc.value.retryable and exc.value.status == status


async def test_a_timeout_is_retryable(venue: Venue) -> None:
    venue.fault("timeout", "asgard:markets", delay_s=1.0, count=1)
    with pytest.raises(AsgardUnavailable) as exc:
        await _client(venue, timeout=0.2).markets()
    assert exc.value.retryable


async def test_a_logical_refusal_keeps_asgards_error_and_is_not_retryable(
    venue: Venue, wallet: Keypair
) -> None:
    client = _client(venue)
    with pytest.raises(AsgardLogicalError) as exc:
        await client.simulate_open(await _request(client, wallet))  # an empty wallet
    assert exc.value.status == 422 and exc.value.name == "InsufficientFunds"
    assert not exc.value.retryable


async def test_a_missing_api_key_is_refused(venue: Venue) -> None:
    client = AsgardClient(venue.asgard_url, "")
    venue.clients.append(client)
    with pytest.raises(AsgardLogicalError) as exc:
        await client.markets()
    assert exc.value.status == 401 and not exc.value.retryable


async def test_simulation_quotes_the_open_without_changing_anything(
    venue: Venue, wallet: Keypair
) -> None:
    await venue.fund(wallet, sol="1", usdc="1000")
    client = _client(venue)
    quote = await client.simulate_open(await _request(client, wallet))
    assert quote["expectedDebtNative"] == str(2000 * 10**6)
    assert quote["expectedCollateralNative"] == str(20 * 10**9)  # 3000 USD at 150
    assert (await venue.wallet(wallet))["tokens"]["USDC"] == "1000.000000"


async def test_a_transaction_signed_by_the_wrong_key_is_refused_at_submit(
    venue: Venue, wallet: Keypair
) -> None:
    await venue.fund(wallet, sol="1", usdc="1000")
    client = _client(venue)
    built = await client.build_open(await _request(client, wallet))
    tx = VersionedTransaction.from_bytes(base64.b64decode(built.transactions[0]))
    forged = VersionedTransaction.populate(
        tx.message, [Keypair().sign_message(to_bytes_versioned(tx.message))]
    )
    with pytest.raises(AsgardLogicalError) as exc:
        await client.submit_open(built, [base64.b64encode(bytes(forged)).decode()])
    assert exc.value.name == "TransactionSignatureVerificationFailure"
    assert await venue.opened_positions(wallet) == []


async def test_positions_are_listed_by_wallet_and_found_by_pda(
    venue: Venue, wallet: Keypair
) -> None:
    await venue.fund(wallet, sol="1", usdc="1000")
    m = venue.manager(wallet, MemorySubmissionStore())
    opened = await m.open_position(
        "open:x", asset=Asset.JITOSOL, leverage=Decimal(2), collateral=Decimal(500)
    )
    client = m.client
    assert [p.pda for p in await client.positions(str(wallet.pubkey()), "open")] == [
        opened.position_pda
    ]
    assert await client.positions(str(wallet.pubkey()), "closed") == []
    pos = await client.position_by_pda(opened.position_pda)
    assert pos.asset is Asset.JITOSOL and pos.open_tx == opened.signatures[0]
    with pytest.raises(PositionNotFound):
        await client.position_by_pda(str(Keypair().pubkey()))


async def test_updates_are_refused_on_protocols_that_do_not_offer_them(
    venue: Venue, wallet: Keypair
) -> None:
    await venue.fund(wallet, sol="1", usdc="1000")
    m = venue.manager(wallet, MemorySubmissionStore())
    opened = await m.open_position(
        "open:x",
        asset=Asset.JITOSOL,
        leverage=Decimal(2),
        collateral=Decimal(500),
        protocol=Protocol.MARGINFI,
    )
    with pytest.raises(AsgardLogicalError) as exc:
        await m.client.build_update(
            UpdateAction.REPAY,
            protocol=Protocol.MARGINFI,
            wallet=str(wallet.pubkey()),
            pda=opened.position_pda,
            amountNative="1000000",
        )
    assert exc.value.name == "UnsupportedProtocol"
    with pytest.raises(UnsupportedOperation):
        await m.update_position(
            "repay:x",
            UpdateAction.REPAY,
            pda=opened.position_pda,
            protocol=Protocol.MARGINFI,
            amount=Decimal(1),
        )


@pytest.mark.parametrize("unit", ["percent", "fraction"])
async def test_either_health_unit_from_the_wire_reads_as_the_same_fraction(
    wallet: Keypair, unit: str
) -> None:
    config = EmulatorConfig(api_key="test-key", health_unit=unit)  # type: ignore[arg-type]
    async with running_venue(config=config) as venue:
        await venue.fund(wallet, sol="1", usdc="1000")
        m = venue.manager(wallet, MemorySubmissionStore(), health_unit=HealthUnit.AUTO)
        opened = await m.open_position(
            "open:x",
            asset=Asset.JITOSOL,
            leverage=Decimal(3),
            collateral=Decimal(1000),
            protocol=Protocol.DRIFT,
        )
        (health,) = await m.refresh([(Protocol.DRIFT, opened.position_pda)])
        # VENUES.md: 100 * (1 - (L-1)/(L*LT)) at L=3, Drift's LT 0.92.
        expected = 1 - Decimal(2) / (Decimal(3) * Decimal("0.92"))
        assert abs(health.health_factor - expected) < Decimal("0.000001")
        raw_expected = expected * 100 if unit == "percent" else expected
        assert abs(health.health_factor_raw - raw_expected) < Decimal("0.0001")
        assert health.collateral_mint == JITOSOL.mint and health.debt == Decimal(2000)
