"""Order intake, waybill numbers, sort codes and QR references, plus the issuance service."""
