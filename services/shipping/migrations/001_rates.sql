-- The rate table: which zone a destination falls in, which speeds each zone offers (with the
-- carrier and transit days), and the price of each weight bracket per speed and currency, in
-- minor units. Quotes are computed from these rows alone (rates.ts), so the same table and
-- request always give the same prices. The contract has no admin RPC for rates yet: operators
-- change the table with SQL (replicas pick changes up within SHIPPING_RATES_CACHE).

CREATE TABLE shipping_zones (
  code text PRIMARY KEY,
  name text NOT NULL
);

-- A destination is a country, optionally narrowed to a region (the state or province code as
-- customers write it, stored upper case). The most specific row wins: (country, region), then
-- (country, ''), then ('*', ''), the rest of the world. A country with no row and no '*' row is
-- not served: quotes for it are empty.
CREATE TABLE zone_destinations (
  country_code text NOT NULL CHECK (country_code ~ '^([A-Z]{2}|\*)$'),
  region       text NOT NULL DEFAULT '' CHECK (region = upper(btrim(region))),
  zone_code    text NOT NULL REFERENCES shipping_zones (code),
  PRIMARY KEY (country_code, region)
);

-- The speeds a zone offers, who carries them, and the transit time in business days.
CREATE TABLE zone_services (
  zone_code        text NOT NULL REFERENCES shipping_zones (code),
  speed            text NOT NULL CHECK (speed IN ('standard', 'express', 'overnight')),
  carrier          text NOT NULL,
  min_transit_days integer NOT NULL CHECK (min_transit_days >= 0),
  max_transit_days integer NOT NULL CHECK (max_transit_days >= min_transit_days),
  PRIMARY KEY (zone_code, speed)
);

-- A parcel pays the price of the lightest bracket it fits in (weight <= max_weight_grams).
-- Heavier than every bracket of a speed, that speed is not offered.
CREATE TABLE rate_brackets (
  zone_code        text    NOT NULL,
  speed            text    NOT NULL,
  currency_code    text    NOT NULL CHECK (currency_code ~ '^[A-Z]{3}$'),
  max_weight_grams integer NOT NULL CHECK (max_weight_grams > 0),
  price_minor      bigint  NOT NULL CHECK (price_minor >= 0),
  PRIMARY KEY (zone_code, speed, currency_code, max_weight_grams),
  FOREIGN KEY (zone_code, speed) REFERENCES zone_services (zone_code, speed)
);

-- The default table: a shop shipping from the United States.
INSERT INTO shipping_zones (code, name) VALUES
  ('US', 'United States (contiguous)'),
  ('US_REMOTE', 'Alaska, Hawaii and US territories'),
  ('NORTH_AMERICA', 'Canada and Mexico'),
  ('EUROPE', 'Europe'),
  ('WORLD', 'Rest of the world');

INSERT INTO zone_destinations (country_code, region, zone_code) VALUES
  ('US', '', 'US'),
  ('US', 'AK', 'US_REMOTE'), ('US', 'ALASKA', 'US_REMOTE'),
  ('US', 'HI', 'US_REMOTE'), ('US', 'HAWAII', 'US_REMOTE'),
  ('PR', '', 'US_REMOTE'), ('GU', '', 'US_REMOTE'), ('VI', '', 'US_REMOTE'),
  ('AS', '', 'US_REMOTE'), ('MP', '', 'US_REMOTE'),
  ('CA', '', 'NORTH_AMERICA'), ('MX', '', 'NORTH_AMERICA'),
  ('*', '', 'WORLD');

INSERT INTO zone_destinations (country_code, region, zone_code)
SELECT c, '', 'EUROPE'
FROM unnest(ARRAY[
  'AT', 'BE', 'BG', 'HR', 'CY', 'CZ', 'DK', 'EE', 'FI', 'FR', 'DE', 'GR', 'HU', 'IE', 'IT', 'LV',
  'LT', 'LU', 'MT', 'NL', 'PL', 'PT', 'RO', 'SK', 'SI', 'ES', 'SE',
  'GB', 'CH', 'NO', 'IS', 'LI', 'MC', 'AD', 'SM', 'VA']) AS c;

INSERT INTO zone_services (zone_code, speed, carrier, min_transit_days, max_transit_days) VALUES
  ('US', 'standard', 'sandbox', 3, 5),
  ('US', 'express', 'sandbox', 2, 3),
  ('US', 'overnight', 'sandbox', 1, 1),
  ('US_REMOTE', 'standard', 'sandbox', 5, 9),
  ('US_REMOTE', 'express', 'sandbox', 3, 4),
  ('NORTH_AMERICA', 'standard', 'sandbox', 5, 10),
  ('NORTH_AMERICA', 'express', 'sandbox', 3, 5),
  ('EUROPE', 'standard', 'sandbox', 7, 14),
  ('EUROPE', 'express', 'sandbox', 3, 6),
  ('WORLD', 'standard', 'sandbox', 10, 21),
  ('WORLD', 'express', 'sandbox', 5, 8);

-- Prices: a base price per zone and speed (USD cents, for up to 500 g), scaled per weight
-- bracket and per currency, and rounded up to end in 99.
WITH base (zone_code, speed, usd_minor) AS (VALUES
    ('US', 'standard', 499), ('US', 'express', 999), ('US', 'overnight', 1999),
    ('US_REMOTE', 'standard', 899), ('US_REMOTE', 'express', 1799),
    ('NORTH_AMERICA', 'standard', 1199), ('NORTH_AMERICA', 'express', 2499),
    ('EUROPE', 'standard', 1499), ('EUROPE', 'express', 2999),
    ('WORLD', 'standard', 1999), ('WORLD', 'express', 3999)),
  brackets (max_weight_grams, percent) AS (VALUES
    (500, 100), (1000, 125), (2000, 160), (5000, 240), (10000, 360), (20000, 560), (30000, 800)),
  currencies (currency_code, percent) AS (VALUES ('USD', 100), ('EUR', 95), ('GBP', 80))
INSERT INTO rate_brackets (zone_code, speed, currency_code, max_weight_grams, price_minor)
SELECT b.zone_code, b.speed, c.currency_code, w.max_weight_grams,
       (ceil(b.usd_minor * w.percent * c.percent / 1000000.0) * 100 - 1)::bigint
FROM base b CROSS JOIN brackets w CROSS JOIN currencies c
-- Overnight takes parcels up to 10 kg.
WHERE NOT (b.speed = 'overnight' AND w.max_weight_grams > 10000);
