// Vault module
