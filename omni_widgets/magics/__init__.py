"""``%omni`` / ``%%omni``: parsing a line into a request, placeholders, and text reports. Built on
the notebook layer (cards, jobs) and the core."""
