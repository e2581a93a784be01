// System clock plus ISO-8601 and duration parsing/formatting shared by every primitive.
#include <chrono>
#include <cstdio>
#include <ctime>

#include "dotdo/clock.h"

namespace dotdo {

int64_t SystemClock::NowMillis() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

SystemClock* SystemClock::Default() {
  static SystemClock* clock = new SystemClock();
  return clock;
}

namespace {

// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// The date of a day count since 1970-01-01 (the inverse of DaysFromCivil, same source).
void CivilFromDays(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
}

unsigned DaysInMonth(int y, int m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

bool ReadDigits(std::string_view s, size_t& pos, int n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (int i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  pos += n;
  return true;
}

bool Expect(std::string_view s, size_t& pos, char c) {
  if (pos < s.size() && s[pos] == c) {
    ++pos;
    return true;
  }
  return false;
}

}  // namespace

std::string FormatIso8601(int64_t millis) {
  // Floor division, so times before 1970 get the right day and a non-negative time of day.
  constexpr int64_t kDayMs = 86'400'000;
  const int64_t rem = millis % kDayMs;
  const int64_t days = millis / kDayMs - (rem < 0 ? 1 : 0);
  const int64_t in_day = rem < 0 ? rem + kDayMs : rem;
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, y, m, d);
  const int64_t secs = in_day / 1000;
  char buf[64];
  // Years outside 0000..9999 (beyond kMaxTimestampMillis) get a sign, as ISO 8601's expanded form.
  std::snprintf(buf, sizeof buf, y >= 0 && y <= 9999 ? "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ"
                                                      : "%+05lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
                static_cast<long long>(y), m, d, static_cast<long long>(secs / 3600),
                static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60),
                static_cast<long long>(in_day % 1000));
  return buf;
}

Status ValidateTimestampMillis(int64_t millis, std::string_view what) {
  if (millis >= kMinTimestampMillis && millis <= kMaxTimestampMillis) return OkStatus();
  return InvalidArgumentError(std::string(what) + " " + std::to_string(millis) +
                              " ms is outside the supported range 0000-01-01T00:00:00.000Z .. "
                              "9999-12-31T23:59:59.999Z");
}

Result<int64_t> ParseIso8601(std::string_view s) {
  auto bad = [&] {
    return InvalidArgumentError("invalid timestamp '" + std::string(s) +
                                "': expected ISO 8601 like 2024-01-15T10:30:00Z or 2024-01-15");
  };
  size_t pos = 0;
  int y, mo, d, h = 0, mi = 0, se = 0, ms = 0;
  if (!ReadDigits(s, pos, 4, y) || !Expect(s, pos, '-') || !ReadDigits(s, pos, 2, mo) ||
      !Expect(s, pos, '-') || !ReadDigits(s, pos, 2, d))
    return bad();
  if (mo < 1 || mo > 12 || d < 1 || static_cast<unsigned>(d) > DaysInMonth(y, mo)) {
    if (mo >= 1 && mo <= 12 && d >= 1)
      return InvalidArgumentError("invalid timestamp '" + std::string(s) + "': " + std::to_string(y) + "-" +
                                  (mo < 10 ? "0" : "") + std::to_string(mo) + " has " +
                                  std::to_string(DaysInMonth(y, mo)) + " days");
    return bad();
  }
  int64_t offset_min = 0;
  if (pos < s.size()) {
    if (!(Expect(s, pos, 'T') || Expect(s, pos, 't') || Expect(s, pos, ' '))) return bad();
    if (!ReadDigits(s, pos, 2, h) || !Expect(s, pos, ':') || !ReadDigits(s, pos, 2, mi)) return bad();
    if (Expect(s, pos, ':') && !ReadDigits(s, pos, 2, se)) return bad();
    if (Expect(s, pos, '.')) {
      int digits = 0;
      ms = 0;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        if (digits < 3) ms = ms * 10 + (s[pos] - '0');
        ++digits;
        ++pos;
      }
      if (digits == 0) return bad();
      for (int i = digits; i < 3; ++i) ms *= 10;
    }
    if (Expect(s, pos, 'Z') || Expect(s, pos, 'z')) {
    } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
      int sign = s[pos] == '-' ? -1 : 1;
      ++pos;
      int oh, om;
      if (!ReadDigits(s, pos, 2, oh)) return bad();
      Expect(s, pos, ':');
      if (!ReadDigits(s, pos, 2, om)) return bad();
      offset_min = sign * (oh * 60 + om);
    }
    if (pos != s.size() || h > 23 || mi > 59 || se > 60) return bad();
  }
  int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  int64_t secs = days * 86400 + h * 3600 + mi * 60 + se - offset_min * 60;
  const int64_t millis = secs * 1000 + ms;
  DOTDO_RETURN_IF_ERROR(ValidateTimestampMillis(millis, "timestamp '" + std::string(s) + "' is"));
  return millis;
}

Result<int64_t> ParseDurationMillis(std::string_view s) {
  auto bad = [&](std::string why) {
    return InvalidArgumentError("invalid duration '" + std::string(s) + "': " + why +
                                " (use e.g. 500ms, 30s, 15m, 24h, 7d, 2w)");
  };
  if (s.empty()) return bad("empty");
  size_t pos = 0;
  int64_t n = 0;
  while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
    if (n > (INT64_MAX - 9) / 10) return bad("too large");
    n = n * 10 + (s[pos] - '0');
    ++pos;
  }
  if (pos == 0) return bad("must start with a non-negative integer");
  std::string_view unit = s.substr(pos);
  int64_t mult;
  if (unit.empty() || unit == "ms") mult = 1;
  else if (unit == "s") mult = 1000;
  else if (unit == "m") mult = 60'000;
  else if (unit == "h") mult = 3'600'000;
  else if (unit == "d") mult = 86'400'000;
  else if (unit == "w") mult = 604'800'000;
  else return bad("unknown unit '" + std::string(unit) + "'");
  if (n > INT64_MAX / mult) return bad("too large");
  return n * mult;
}

}  // namespace dotdo
