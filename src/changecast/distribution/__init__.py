"""Distribution: turn a change event into one trigger object per customer, and write them."""
