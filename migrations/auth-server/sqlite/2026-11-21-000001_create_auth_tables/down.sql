DROP TABLE access_tokens;
DROP TABLE refresh_tokens;
DROP TABLE clients;
DROP TABLE users;
