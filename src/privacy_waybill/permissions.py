"""File permissions: everything privacy-waybill writes (database, WAL, logs, anchors, labels)
is readable by its owner only. A separate module so the CLI can set it before importing anything heavy."""

OWNER_ONLY_UMASK = 0o077
