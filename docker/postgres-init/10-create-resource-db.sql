-- Runs once, when the postgres volume is first initialised (POSTGRES_DB already created "auth").
-- The resource server keeps its items in a database of its own on the same instance.
CREATE DATABASE resource;
