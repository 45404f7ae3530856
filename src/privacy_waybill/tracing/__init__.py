"""Leak tracing: a leaked list in, the accessors that saw it beyond chance out.

`leak` reads the list, `matching` ties its rows to waybills (waybill number, blind index of a
full phone, masked values compared in their masked form, virtual numbers to their viewer),
`exposure` counts in DuckDB which accessor saw how many of them, `statistics` tests each
against chance (hypergeometric) and `report` writes JSON and HTML.
"""
