-- Cluster only (one server: the other scripts do it): a grant id into one
-- index set, which then lives at least as long as the grant.
-- KEYS[1] the index; ARGV[1] grant id, ARGV[2] the grant's TTL in seconds.
redis.call('SADD', KEYS[1], ARGV[1])
index_ttl(KEYS[1], tonumber(ARGV[2]))
return 1
