// Tag filters across series: the filter compiler (core/filter_compiler.h) over the tags JSON of
// ts_series, so the timeseries store accepts exactly the filters the document and blob stores do.
#include "core/filter_compiler.h"
#include "core/json.h"
#include "timeseries/timeseries_internal.h"

namespace dotdo {
namespace internal {

namespace {

// Rows of (id, key, tags JSON); at most `limit` when given (one more is kResourceExhausted).
Result<std::vector<SeriesRow>> CollectSeries(Statement& st, std::optional<size_t> limit) {
  std::vector<SeriesRow> out;
  for (;;) {
    DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    if (limit && out.size() == *limit)
      return ResourceExhaustedError("the filter matches more than " + std::to_string(*limit) + " series; narrow it");
    SeriesRow r{st.ColumnInt64(0), {st.ColumnString(1), {}}};
    DOTDO_ASSIGN_OR_RETURN(Json tags, ParseJson(st.ColumnText(2), "stored series tags"));
    if (!tags.is_object()) return DataLossError("stored series tags are not a JSON object");
    for (auto& [k, v] : tags.items()) {
      if (!v.is_string()) return DataLossError("stored series tag '" + k + "' is not a string");
      r.info.tags.emplace(k, v.get<std::string>());
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

Result<std::vector<SeriesRow>> MatchSeries(Database& db, std::string_view key, const Json& where) {
  DOTDO_RETURN_IF_ERROR(ValidateSeriesKey(key));
  static const JsonColumnFields kTagFields({}, "tags");
  DOTDO_ASSIGN_OR_RETURN(CompiledFilter filter, CompileFilter(where, kTagFields));
  DOTDO_ASSIGN_OR_RETURN(TimeSeriesState * state, TimeSeriesState::ForRead(db));
  if (state == nullptr) return std::vector<SeriesRow>();
  Connection& conn = DatabaseInternals::Conn(db);
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.PrepareUncached("SELECT id, key, tags FROM ts_series WHERE key = ?1 AND (" + filter.sql +
                                                       ") ORDER BY tags" + LimitClause(kMaxSeriesPerQuery + 1)));
  st.Bind(1, key);
  for (size_t i = 0; i < filter.params.size(); ++i) st.Bind(static_cast<int>(i) + 2, filter.params[i]);
  return CollectSeries(st, kMaxSeriesPerQuery);
}

Result<std::vector<SeriesRow>> AllSeries(Database& db) {
  DOTDO_ASSIGN_OR_RETURN(auto st, DatabaseInternals::Conn(db).Prepare("SELECT id, key, tags FROM ts_series ORDER BY key, tags"));
  return CollectSeries(st, std::nullopt);
}

}  // namespace internal

Result<std::vector<TimeSeriesInfo>> TimeSeriesStore::ListSeries(std::string_view key, const Json& where) {
  auto lock = internal::DatabaseInternals::Conn(db_).Lock();
  DOTDO_ASSIGN_OR_RETURN(auto rows, internal::MatchSeries(db_, key, where));
  std::vector<TimeSeriesInfo> out;
  out.reserve(rows.size());
  for (auto& r : rows) out.push_back(std::move(r.info));
  return out;
}

}  // namespace dotdo
