"""The voucher ledger: the pure double-entry rules (`rules`), the book in the database
(`store`) and the spend summary kept with it (`spend_summary`)."""
