-- Admission: every rate-limit window and the credit hold of one request, checked and charged atomically.
--
-- KEYS[1]  hash  account holds: request id -> micro-USD, plus the running sum under "~total"
-- KEYS[2]  zset  account holds: request id -> expiry (ms, Redis clock)
-- KEYS[2+i] GCRA theoretical arrival time (ms) of window i
-- KEYS[2+n+j] string  the API key's spend (micro-USD, settled costs plus open holds) in budget window j
-- ARGV[1] request id   ARGV[2] hold micro-USD (-1: no credit gate)   ARGV[3] balance micro-USD
-- ARGV[4] hold TTL ms  ARGV[5] key TTL ms (holds keys)               ARGV[6] n windows
-- ARGV[6+3i-2..6+3i]   limit, period ms, cost of window i
-- ARGV[7+3n] m budgets, then ARGV[7+3n+2j-1], ARGV[7+3n+2j]  limit micro-USD and counter TTL ms of budget j
-- Returns {outcome, blocking window (1-based, 0 = none), retry after ms, available micro-USD,
--          remaining_1, reset_ms_1, ..., remaining_n, reset_ms_n}
-- outcome 0 admitted, 1 rate limited, 2 insufficient credit, 3 one request exceeds a whole window,
-- 4 over a key budget (blocking = the budget, available = what is left of it).
-- Nothing is written unless the outcome is 0 (all or nothing).

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
local n = tonumber(ARGV[6])
local outcome, blocking, retry_after = 0, 0, 0
local tats, new_tats, limits, periods = {}, {}, {}, {}

for i = 1, n do
  local limit = tonumber(ARGV[6 + 3 * i - 2])
  local period = tonumber(ARGV[6 + 3 * i - 1])
  local cost = tonumber(ARGV[6 + 3 * i])
  local tat = tonumber(redis.call('GET', KEYS[2 + i]) or '0')
  if tat < now then tat = now end
  local new_tat = tat + cost * period / limit
  local wait = new_tat - now - period
  if cost > limit then
    outcome, blocking, retry_after = 3, i, period
  elseif wait > 0 and outcome ~= 3 and wait > retry_after then
    outcome, blocking, retry_after = 1, i, wait
  end
  tats[i], new_tats[i], limits[i], periods[i] = tat, new_tat, limit, period
end

local hold = tonumber(ARGV[2])
local available = 0
if hold >= 0 then
  -- Expired holds (a crashed gateway's, or settled costs billing has had time to show) stop counting.
  local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
  if #expired > 0 then
    local freed = 0
    for _, id in ipairs(expired) do
      freed = freed + tonumber(redis.call('HGET', KEYS[1], id) or '0')
      redis.call('HDEL', KEYS[1], id)
    end
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
    redis.call('HINCRBY', KEYS[1], '~total', -freed)
  end
  available = tonumber(ARGV[3]) - tonumber(redis.call('HGET', KEYS[1], '~total') or '0')
  if outcome == 0 and available - hold < 0 then outcome = 2 end
end

-- A key's budgets take the whole hold, as the balance does: spend plus open holds never passes the limit.
local budgets_at = 7 + 3 * n
local m = tonumber(ARGV[budgets_at] or '0')
if hold >= 0 and outcome == 0 then
  for j = 1, m do
    local limit = tonumber(ARGV[budgets_at + 2 * j - 1])
    local spent = tonumber(redis.call('GET', KEYS[2 + n + j]) or '0')
    if spent + hold > limit then
      outcome, blocking, available = 4, j, limit - spent
      break
    end
  end
end

if outcome == 0 then
  for i = 1, n do
    redis.call('SET', KEYS[2 + i], string.format('%.3f', new_tats[i]), 'PX', math.ceil(new_tats[i] - now) + 1)
  end
  if hold >= 0 then
    redis.call('HSET', KEYS[1], ARGV[1], hold)
    redis.call('HINCRBY', KEYS[1], '~total', hold)
    redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[1])
    redis.call('PEXPIRE', KEYS[1], ARGV[5])
    redis.call('PEXPIRE', KEYS[2], ARGV[5])
    for j = 1, m do
      redis.call('INCRBY', KEYS[2 + n + j], hold)
      redis.call('PEXPIRE', KEYS[2 + n + j], ARGV[budgets_at + 2 * j])
    end
  end
end

-- Remaining and reset as they stand after this call: charged when admitted, untouched otherwise.
local reply = {outcome, blocking, math.ceil(retry_after), available}
for i = 1, n do
  local tat = tats[i]
  if outcome == 0 then tat = new_tats[i] end
  reply[#reply + 1] = math.floor((periods[i] - (tat - now)) * limits[i] / periods[i])
  reply[#reply + 1] = math.ceil(tat - now)
end
return reply
