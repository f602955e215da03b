"""Venue clients (Hyperliquid, Asgard, Solana), their local emulators, and the market
simulator behind both emulators."""
