"""Courier delivery: delivery points, assignment, manifests by building, the out-for-delivery
scan, reveal, virtual-number calls and sign-off."""
