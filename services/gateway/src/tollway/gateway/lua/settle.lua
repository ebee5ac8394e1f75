-- Settlement at the end of a request: its hold becomes its cost, kept until billing has had time to show it
-- in the balance, and its token reservation is corrected to the tokens it used.
--
-- KEYS[1] hash  account holds (as in admit.lua)    KEYS[2] zset  account hold expiries
-- KEYS[2+i] GCRA theoretical arrival time (ms) of token window i
-- ARGV[1] request id   ARGV[2] cost micro-USD (-1: no credit gate)   ARGV[3] settle ms   ARGV[4] key TTL ms
-- ARGV[5] n windows    ARGV[5+3i-2..5+3i]  limit, period ms, token delta (actual - reserved) of window i
-- KEYS[2+n+j] the API key's spend in budget window j (as in admit.lua)
-- ARGV[6+3n] m budgets, then ARGV[6+3n+2j-1], ARGV[6+3n+2j]  cost - hold (micro-USD) and counter TTL ms of budget j
-- Returns the account's counted holds after the call (micro-USD).

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000

local n = tonumber(ARGV[5])
for i = 1, n do
  local limit = tonumber(ARGV[5 + 3 * i - 2])
  local period = tonumber(ARGV[5 + 3 * i - 1])
  local delta = tonumber(ARGV[5 + 3 * i])
  local tat = tonumber(redis.call('GET', KEYS[2 + i]) or '0')
  if tat < now then tat = now end
  local new_tat = tat + delta * period / limit
  if new_tat <= now then
    redis.call('DEL', KEYS[2 + i])
  else
    redis.call('SET', KEYS[2 + i], string.format('%.3f', new_tat), 'PX', math.ceil(new_tat - now) + 1)
  end
end

local budgets_at = 6 + 3 * n
local m = tonumber(ARGV[budgets_at] or '0')
for j = 1, m do
  -- The budget counters took the hold at admission; the real cost replaces it (the same period's counter).
  local delta = tonumber(ARGV[budgets_at + 2 * j - 1])
  if delta ~= 0 then
    redis.call('INCRBY', KEYS[2 + n + j], delta)
    if redis.call('PTTL', KEYS[2 + n + j]) < 0 then redis.call('PEXPIRE', KEYS[2 + n + j], ARGV[budgets_at + 2 * j]) end
  end
end

local cost = tonumber(ARGV[2])
if cost < 0 then return 0 end
-- A hold that already expired was purged with its amount, so the cost is added back in full.
local held = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if cost == 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], cost)
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
end
return redis.call('HINCRBY', KEYS[1], '~total', cost - held)
