DROP TABLE user_cutoffs;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
