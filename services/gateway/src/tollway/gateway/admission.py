"""Rate limits and credit holds in Redis: one Lua call admits a request, a second one settles it."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from importlib import resources

from redis.exceptions import RedisError

from tollway.gateway.domain.admission import AdmissionPlan, Budget, BudgetWindow, Decision, Outcome, WindowState
from tollway.gateway.domain.ratelimits import Kind, Window
from tollway.gateway.domain.rejections import ServiceUnavailableError
from tollway.platform.redis import CoalescedScript, LuaScript, RedisClient, RedisKeys

log = logging.getLogger(__name__)
NO_CREDIT_GATE = -1
LOG_INTERVAL_S = 10.0
_LUA = resources.files("tollway.gateway") / "lua"
DAY_MS = 86_400_000
# A period's counter outlives its period by a day (a request settling past midnight still finds it).
BUDGET_TTL_MS: dict[BudgetWindow, int] = {"day": 2 * DAY_MS, "month": 32 * DAY_MS}


class RedisAdmission:
    """The ``Admission`` port on Redis: GCRA windows and per-account holds, all keys of a call in one slot.

    Scripts run as ``LuaScript``: ``EVALSHA``, and ``EVAL`` on the keys' node when Redis has lost its script cache.
    """

    def __init__(
        self,
        redis: RedisClient,
        keys: RedisKeys,
        *,
        hold_ttl_ms: int,
        settle_ms: int,
        timeout_s: float,
        fail_open: bool,
    ) -> None:
        self._keys = keys
        self._redis = redis
        # Concurrent calls share one pipelined round trip: a call waits at most for the one in flight before it.
        self._admit = CoalescedScript(LuaScript(redis, _LUA.joinpath("admit.lua").read_text()))
        self._settle = CoalescedScript(LuaScript(redis, _LUA.joinpath("settle.lua").read_text()))
        self._peek = LuaScript(redis, _LUA.joinpath("peek.lua").read_text())
        self._hold_ttl_ms = hold_ttl_ms
        self._settle_ms = settle_ms
        self._key_ttl_ms = max(hold_ttl_ms, settle_ms) + 60_000
        self._timeout_s = timeout_s
        self._fail_open = fail_open
        self._quiet_until = 0.0

    async def admit(self, plan: AdmissionPlan) -> Decision:
        hold = NO_CREDIT_GATE if plan.hold_micros is None else plan.hold_micros
        args: list[str | int] = [plan.request_id, hold, plan.balance_micros, self._hold_ttl_ms, self._key_ttl_ms]
        args.append(len(plan.windows))
        for window in plan.windows:
            args.extend((window.limit, window.period_ms, window.cost))
        args.append(len(plan.budgets))
        for budget in plan.budgets:
            args.extend((budget.limit_micros, BUDGET_TTL_MS[budget.window]))
        keys = [*self._hold_keys(plan.account), *(self._window_key(plan.account, w) for w in plan.windows)]
        keys.extend(self._budget_key(plan, b) for b in plan.budgets)
        try:
            async with asyncio.timeout(self._timeout_s):
                reply = await self._admit(keys=keys, args=args)
        except (RedisError, OSError, TimeoutError) as exc:
            return self._without_redis(plan, exc)
        return _decision(reply)

    async def settle(self, plan: AdmissionPlan, cost_micros: int | None, token_delta: int | None) -> None:
        """Turn the hold into ``cost_micros`` (``None``: the credit gate was off) and correct token windows."""
        token_windows = [w for w in plan.windows if w.kind is Kind.TOKENS] if token_delta else []
        args: list[str | int] = [plan.request_id, NO_CREDIT_GATE if cost_micros is None else cost_micros]
        args.extend((self._settle_ms, self._key_ttl_ms, len(token_windows)))
        for window in token_windows:
            args.extend((window.limit, window.period_ms, token_delta or 0))
        # The budgets took the hold at admission; they take the real cost instead (the same periods, past midnight).
        budgets = plan.budgets if cost_micros is not None and plan.hold_micros is not None else ()
        args.append(len(budgets))
        for budget in budgets:
            args.extend(((cost_micros or 0) - (plan.hold_micros or 0), BUDGET_TTL_MS[budget.window]))
        keys = [*self._hold_keys(plan.account), *(self._window_key(plan.account, w) for w in token_windows)]
        keys.extend(self._budget_key(plan, b) for b in budgets)
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._settle(keys=keys, args=args)
        except (RedisError, OSError, TimeoutError) as exc:
            # The hold then simply lives out its TTL: credit is counted too long, never too short.
            log.warning("could not settle %s (%s); its hold expires on its own", plan.request_id, type(exc).__name__)

    async def peek(self, plan: AdmissionPlan) -> tuple[WindowState, ...] | None:
        """The windows' state without charging them; ``None`` when Redis cannot say (the headers are then left out)."""
        if not plan.windows:
            return ()
        args: list[str | int] = []
        for window in plan.windows:
            args.extend((window.limit, window.period_ms))
        keys = [self._window_key(plan.account, w) for w in plan.windows]
        try:
            async with asyncio.timeout(self._timeout_s):
                reply = await self._peek(keys=keys, args=args)
        except (RedisError, OSError, TimeoutError):
            return None  # admission reports Redis trouble (and logs it); a header is not worth a second line
        values = [int(v) for v in reply]
        return tuple(WindowState(values[i], values[i + 1]) for i in range(0, len(values), 2))

    async def key_spend(self, account: str, api_key_id: str, periods: Mapping[BudgetWindow, str]) -> dict[str, int]:
        """The key's counted spend (settled costs plus open holds) per budget window; what admission compares."""
        windows = list(periods)
        keys = [self._spend_key(account, api_key_id, w, periods[w]) for w in windows]
        try:
            async with asyncio.timeout(self._timeout_s):
                values = await self._redis.mget(keys)
        except (RedisError, OSError, TimeoutError):
            raise ServiceUnavailableError("key spend is unavailable; please retry shortly") from None
        return {w: int(v or 0) for w, v in zip(windows, values, strict=True)}

    def _without_redis(self, plan: AdmissionPlan, exc: BaseException) -> Decision:
        now = time.monotonic()
        if now >= self._quiet_until:  # one line per interval, not one per request, while Redis is down
            self._quiet_until = now + LOG_INTERVAL_S
            log.warning("admission without Redis (%s: %s)", type(exc).__name__, exc)
        if not self._fail_open:
            raise ServiceUnavailableError("rate limiting is unavailable; please retry shortly") from None
        # Failing open keeps the local check that needs no shared state: this request alone must fit the balance.
        if plan.hold_micros is not None and plan.balance_micros < plan.hold_micros:
            return Decision(outcome=Outcome.NO_CREDIT, available_micros=plan.balance_micros, degraded=True)
        return Decision(outcome=Outcome.ADMITTED, degraded=True)

    def _hold_keys(self, account: str) -> tuple[str, str]:
        tag = "{" + account + "}"  # a Redis Cluster hash tag: the holds and every window of a call share a slot
        return self._keys.key("hold", tag), self._keys.key("hold", tag, "exp")

    def _window_key(self, account: str, window: Window) -> str:
        return self._keys.key("rl", "{" + account + "}", window.scope, window.name)

    def _budget_key(self, plan: AdmissionPlan, budget: Budget) -> str:
        return self._spend_key(plan.account, plan.api_key_id or "", budget.window, budget.period)

    def _spend_key(self, account: str, api_key_id: str, window: str, period: str) -> str:
        return self._keys.key("spend", "{" + account + "}", api_key_id, window, period)


def _decision(reply: list[int]) -> Decision:
    outcome, blocking, retry_after_ms, available = (int(v) for v in reply[:4])
    rest = [int(v) for v in reply[4:]]
    states = tuple(WindowState(rest[i], rest[i + 1]) for i in range(0, len(rest), 2))
    return Decision(
        outcome=Outcome(outcome),
        blocking=blocking - 1,
        retry_after_ms=retry_after_ms,
        available_micros=available,
        states=states,
    )
