-- RestockReservation: a committed reservation whose units went back on hand (the order was
-- cancelled before it shipped).
ALTER TABLE reservations DROP CONSTRAINT reservations_status_check;
ALTER TABLE reservations ADD CONSTRAINT reservations_status_check CHECK (status IN ('active', 'committed', 'released', 'expired', 'restocked'));
