DROP TABLE revocations_hourly;
