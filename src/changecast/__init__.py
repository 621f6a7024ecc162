"""changecast: write a change notice once, deliver it through every customer's own SES."""
