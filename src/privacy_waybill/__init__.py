"""privacy-waybill: express-delivery waybills whose personal data never leaves the vault unmasked."""

__version__ = "0.1.0"
