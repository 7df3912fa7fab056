"""The counter's business, apart from the CLI and the faces: ID numbers, accounts and the audit
log, loss reports and found cards, intake, applications, temporary cards, reveal and retention."""
