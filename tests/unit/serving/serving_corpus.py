"""The three documents the search API tests serve."""

DOCS = {
    "leave.md": "Birth parents receive 20 weeks of paid leave; partners receive 10 weeks.\n",
    "backups.md": "Backups run every night at 02:00 UTC and are kept for 35 days.\n",
    "passwords.md": "Passwords must be at least 14 characters long.\n",
}
