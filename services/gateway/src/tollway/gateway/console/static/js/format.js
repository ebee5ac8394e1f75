// Display formats. Money arrives as integer micro-USD or exact decimal strings and is never turned into a float.

const MICROS = 1000000n;

// "4.998250" -> "$4.99825"; keeps at least two decimals, drops trailing zeros beyond them.
export function usd(decimal) {
  if (decimal === null || decimal === undefined) return "—";
  let text = String(decimal);
  const negative = text.startsWith("-");
  if (negative) text = text.slice(1);
  let [whole, fraction = ""] = text.split(".");
  fraction = fraction.replace(/0+$/, "").padEnd(2, "0");
  whole = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${negative ? "−" : ""}$${whole}.${fraction}`;
}

export function microsToDecimal(micros) {
  const value = BigInt(micros);
  const sign = value < 0n ? "-" : "";
  const abs = value < 0n ? -value : value;
  return `${sign}${abs / MICROS}.${String(abs % MICROS).padStart(6, "0")}`;
}

export const usdMicros = (micros) => usd(microsToDecimal(micros));

// "12.5" (dollars typed by an operator) -> 12500000 micro-USD, exactly; null when it is not an amount.
export function dollarsToMicros(text) {
  const match = /^\s*\$?(\d{1,9})(?:\.(\d{0,6}))?\s*$/.exec(text);
  if (!match) return null;
  const micros = BigInt(match[1]) * MICROS + BigInt((match[2] || "").padEnd(6, "0"));
  return Number(micros);
}

export const count = (n) => (n === null || n === undefined ? "—" : Number(n).toLocaleString("en-US"));

export function when(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return date.toISOString().replace("T", " ").slice(0, 19) + " UTC";
}

export function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

export function daysAgo(days) {
  const date = new Date();
  date.setUTCDate(date.getUTCDate() - days);
  return isoDay(date);
}
