"""Stations and lockers: shelf codes, pickup codes, shelf stickers, hand-over (SPEC 8).

The rules (code formats, where a parcel goes, who may collect it) are small pure functions in
`codes`; `service` applies them over a storage port, the access service and the sign-off seam.
"""
