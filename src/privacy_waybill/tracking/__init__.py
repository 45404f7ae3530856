"""Public tracking by waybill number: status and coarse location for anyone, the masked name
and the station for whoever also knows the phone's last 4 digits; limits that make walking
the number space slow and loud (SPEC 1, enumeration row)."""
