"""Helpers the tests share, one implementation each: `clock` (a test clock to set and move),
`waiting` (poll until a condition holds or time runs out), `clients` (signing in through the
gateway, and clients that carry a token minted for a role), `factories` (valid 统一社会信用代码 and
resident ID numbers, made independently of the services' validators), `events` (an outbox's
events, and another service's event sent straight to the broker).

Imported as `tests.support.<module>` (the repository root is on sys.path when pytest runs from it,
as for `tests.conftest` and the harness modules)."""
