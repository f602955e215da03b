"""Per-user wallets: key custody behind a provider interface. Key material never leaves this
package in plaintext except as a signer object inside an activity."""
