-- Browser origins an API key may be used from (CORS on POST /v1/sessions): a JSON array of exact origins such as
-- "https://shop.example.com", or ["*"]. Existing keys carry forward with an empty list: no browser origin allowed.
ALTER TABLE api_keys ADD COLUMN allowed_origins TEXT NOT NULL DEFAULT '[]';
