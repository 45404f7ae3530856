"""Cloud printing: registered terminals pull rendered, masked labels, never plaintext orders.

Every pull, print report and reprint is audited before anything is returned; reprints are
counted per waybill and capped.
"""

from privacy_waybill.printing.model import (
    JobStatus,
    NewTerminal,
    PrintedLabel,
    PrintJob,
    PrintSettings,
    ReprintLimitReached,
    Terminal,
)
from privacy_waybill.printing.service import NotAllowed, PrintService, PrintStorePort
from privacy_waybill.printing.terminals import new_terminal, terminal_subject

__all__ = [
    "JobStatus",
    "NewTerminal",
    "NotAllowed",
    "PrintJob",
    "PrintService",
    "PrintSettings",
    "PrintStorePort",
    "PrintedLabel",
    "ReprintLimitReached",
    "Terminal",
    "new_terminal",
    "terminal_subject",
]
