"""Delivery: route, render and send one trigger for one customer, exactly once per recipient."""
