-- Who holds a notification's lease: the claim pass that took the row. Each delivery attempt
-- renews the lease for its own timeout only while it still owns the row, and settles it only
-- then, so a row is sent again only after its attempt failed or its lease expired and another
-- sender took it over (issue 12: a slow receiver got half of a batch twice).
ALTER TABLE notification_outbox ADD COLUMN lease_owner uuid;
