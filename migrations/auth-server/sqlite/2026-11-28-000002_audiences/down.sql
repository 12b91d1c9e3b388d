ALTER TABLE refresh_tokens DROP COLUMN audience;
ALTER TABLE access_tokens DROP COLUMN audience;
ALTER TABLE clients DROP COLUMN audiences;
DROP TABLE resources;
