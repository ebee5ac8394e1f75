-- Peek: the state of rate-limit windows without charging them (the headers of responses admission did not make).
--
-- KEYS[i]  GCRA theoretical arrival time (ms) of window i, as in admit.lua
-- ARGV[2i-1], ARGV[2i]  limit and period ms of window i
-- Returns {remaining_1, reset_ms_1, ..., remaining_n, reset_ms_n}. Read-only: nothing is written.

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
local reply = {}
for i = 1, #KEYS do
  local limit = tonumber(ARGV[2 * i - 1])
  local period = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if tat < now then tat = now end
  reply[#reply + 1] = math.floor((period - (tat - now)) * limit / period)
  reply[#reply + 1] = math.ceil(tat - now)
end
return reply
