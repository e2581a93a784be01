// `dotdo stream topics|produce|consume|groups|lag`: the StreamStore from the shell.
//
//   topics    list the topics (with `create`, `describe`, `add-partitions`, `delete` below it)
//   produce   one record per stdin line into TOPIC, all lines in one batch (one transaction); with
//             -K each line is key<TAB>value (kcat's -K), split at the first delimiter; prints a
//             summary {"topic", "count", "partitions": [{"partition", "first", "last", "count"}]}
//   consume   records as JSON lines, from --from beginning|end|<offset> (default beginning), or
//             with --group from the group's committed offsets; --commit stores the positions
//   groups    the group ids, or one group's generation, members and committed offsets
//   lag       per partition: committed offset, end offset and lag of a group
// Names, configs, offsets and partitions are validated by the StreamStore itself, so the CLI
// accepts exactly what the C++ API accepts and reports the same errors.
#include <iostream>
#include <memory>
#include <optional>

#include "cli.h"
#include "dotdo/stream.h"

namespace dotdo::cli {
namespace {

struct StreamArgs {
  std::string topic, group, from = "beginning", key_delimiter = "\t", cleanup_policy = "delete", full_policy = "error";
  std::vector<std::string> topics;
  int32_t partitions = 1, partition = -1;
  int64_t max = 1000, retention_ms = 7LL * 24 * 3600 * 1000, retention_bytes = -1, max_record_bytes = 1 << 20,
          delete_retention_ms = 24LL * 3600 * 1000, max_unconsumed = -1, full_block_ms = 1000;
  bool keyed = false, commit = false;
};

Result<StreamStore> Open(Context& ctx, bool create) {
  DOTDO_ASSIGN_OR_RETURN(Namespace * n, ctx.OpenNamespace(create));
  return n->Stream();
}

Result<StreamTopicConfig> ConfigFrom(const StreamArgs& a) {
  StreamTopicConfig c{.partitions = a.partitions,
                      .retention_ms = a.retention_ms,
                      .retention_bytes = a.retention_bytes,
                      .max_record_bytes = a.max_record_bytes,
                      .delete_retention_ms = a.delete_retention_ms,
                      .max_unconsumed = a.max_unconsumed,
                      .full_block_ms = a.full_block_ms};
  DOTDO_ASSIGN_OR_RETURN(c.cleanup_policy, ParseStreamCleanupPolicy(a.cleanup_policy));
  if (a.full_policy == "block") c.full_policy = StreamFullPolicy::kBlock;
  else if (a.full_policy != "error")
    return InvalidArgumentError("--full-policy must be error or block, got '" + a.full_policy + "'");
  return c;
}

Result<Json> RunTopics(Context& ctx) {
  DOTDO_ASSIGN_OR_RETURN(StreamStore s, Open(ctx, /*create=*/false));
  DOTDO_ASSIGN_OR_RETURN(auto names, s.ListTopics());
  Json out = Json::array();
  for (const auto& n : names) {
    DOTDO_ASSIGN_OR_RETURN(auto info, s.DescribeTopic(n));
    int64_t records = 0;
    for (const auto& p : info.partitions) records += p.records;
    out.push_back(Json{{"name", n}, {"partitions", info.config.partitions}, {"records", records}});
  }
  return out;
}

// Splits stdin into messages: one per line (a trailing '\r' is dropped), key<delimiter>value with -K.
Result<std::vector<StreamMessage>> ReadMessages(const StreamArgs& a) {
  if (a.keyed && a.key_delimiter.empty()) return InvalidArgumentError("--key-delimiter may not be empty");
  std::vector<StreamMessage> out;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    StreamMessage m;
    if (a.keyed) {
      const size_t at = line.find(a.key_delimiter);
      if (at == std::string::npos)
        return InvalidArgumentError("line " + std::to_string(out.size() + 1) +
                                    " has no key delimiter; with -K every line is key<TAB>value");
      m.key = line.substr(0, at);
      m.value = line.substr(at + a.key_delimiter.size());
    } else {
      m.value = line;
    }
    if (a.partition >= 0) m.partition = a.partition;
    out.push_back(std::move(m));
  }
  if (out.empty()) return InvalidArgumentError("nothing to produce: stdin had no lines");
  return out;
}

Result<Json> RunProduce(Context& ctx, const StreamArgs& a) {
  DOTDO_ASSIGN_OR_RETURN(auto messages, ReadMessages(a));
  DOTDO_ASSIGN_OR_RETURN(StreamStore s, Open(ctx, /*create=*/false));
  DOTDO_ASSIGN_OR_RETURN(auto md, s.SendBatch(a.topic, messages));
  std::map<int32_t, std::pair<int64_t, int64_t>> ranges;  // partition -> (first, last)
  std::map<int32_t, int64_t> counts;
  for (const auto& m : md) {
    auto [it, inserted] = ranges.try_emplace(m.partition, m.offset, m.offset);
    if (!inserted) it->second.second = m.offset;
    ++counts[m.partition];
  }
  Json parts = Json::array();
  for (const auto& [p, r] : ranges)
    parts.push_back(Json{{"partition", p}, {"first", r.first}, {"last", r.second}, {"count", counts[p]}});
  return Json{{"topic", a.topic}, {"count", md.size()}, {"partitions", std::move(parts)}};
}

Status RunConsume(Context& ctx, const StreamArgs& a) {
  if (a.max < 1 || a.max > kMaxStreamBatchRecords)
    return InvalidArgumentError("--max must be 1.." + std::to_string(kMaxStreamBatchRecords));
  if (a.commit && a.group.empty()) return InvalidArgumentError("--commit needs --group");
  DOTDO_ASSIGN_OR_RETURN(StreamStore s, Open(ctx, /*create=*/false));
  DOTDO_ASSIGN_OR_RETURN(auto info, s.DescribeTopic(a.topic));
  std::vector<StreamTopicPartition> tps;
  if (a.partition >= 0) {
    tps.push_back({a.topic, a.partition});
  } else {
    for (int32_t p = 0; p < info.config.partitions; ++p) tps.push_back({a.topic, p});
  }
  StreamConsumer consumer(s, {.group_id = a.group, .auto_commit = false});
  DOTDO_RETURN_IF_ERROR(consumer.Assign(tps));
  if (a.group.empty() || a.from != "beginning") {
    if (a.from == "beginning") {
      DOTDO_RETURN_IF_ERROR(consumer.SeekToBeginning());
    } else if (a.from == "end") {
      DOTDO_RETURN_IF_ERROR(consumer.SeekToEnd());
    } else {
      int64_t offset = 0;
      size_t used = 0;
      try {
        offset = std::stoll(a.from, &used);
      } catch (...) {
        used = 0;
      }
      if (used == 0 || used != a.from.size())
        return InvalidArgumentError("--from must be beginning, end or an offset, got '" + a.from + "'");
      if (a.partition < 0 && info.config.partitions > 1)
        return InvalidArgumentError("--from <offset> needs --partition (offsets are per partition)");
      DOTDO_RETURN_IF_ERROR(consumer.Seek(tps.front(), offset));
    }
  }
  int64_t printed = 0;
  while (printed < a.max) {
    DOTDO_ASSIGN_OR_RETURN(auto recs, consumer.Poll(std::min<int64_t>(500, a.max - printed), 0));
    if (recs.empty()) break;
    for (const auto& r : recs) std::cout << StreamRecordToJson(r).dump() << "\n";
    printed += static_cast<int64_t>(recs.size());
  }
  std::cout.flush();
  if (a.commit) DOTDO_RETURN_IF_ERROR(consumer.Commit());
  return OkStatus();
}

Result<Json> RunGroups(Context& ctx, const StreamArgs& a) {
  DOTDO_ASSIGN_OR_RETURN(StreamStore s, Open(ctx, /*create=*/false));
  if (a.group.empty()) {
    DOTDO_ASSIGN_OR_RETURN(auto groups, s.ListGroups());
    return Json(groups);
  }
  DOTDO_ASSIGN_OR_RETURN(auto info, s.DescribeGroup(a.group));
  return StreamGroupInfoToJson(info);
}

Result<Json> RunLag(Context& ctx, const StreamArgs& a) {
  DOTDO_ASSIGN_OR_RETURN(StreamStore s, Open(ctx, /*create=*/false));
  DOTDO_ASSIGN_OR_RETURN(auto lag, s.Lag(a.group, a.topics));
  Json out = Json::array();
  int64_t total = 0;
  for (const auto& l : lag) {
    out.push_back(Json{{"topic", l.tp.topic}, {"partition", l.tp.partition},
                       {"committed", l.committed ? Json(*l.committed) : Json(nullptr)},
                       {"endOffset", l.end_offset}, {"lag", l.lag}});
    total += l.lag;
  }
  return Json{{"group", a.group}, {"partitions", std::move(out)}, {"total", total}};
}

const CommandGroup kStreamCommands(40, [](CLI::App& app, Context& ctx) {
  auto a = std::make_shared<StreamArgs>();
  auto* stream = app.add_subcommand("stream", "StreamStore: Kafka-style topics, partitions, offsets and consumer groups");
  stream->require_subcommand(1);

  auto config_args = [a](CLI::App* cmd) {
    cmd->add_option("--retention-ms", a->retention_ms, "Delete records older than this; -1 forever (default 7 days)");
    cmd->add_option("--retention-bytes", a->retention_bytes, "Per partition size bound; -1 none (default -1)");
    cmd->add_option("--max-record-bytes", a->max_record_bytes, "Largest key + value + headers (default 1048576)");
    cmd->add_option("--delete-retention-ms", a->delete_retention_ms, "Compacted topics: tombstone lifetime (default 1 day)");
    cmd->add_option("--max-unconsumed", a->max_unconsumed, "Back-pressure bound on un-consumed records; -1 none (default)");
    cmd->add_option("--full-policy", a->full_policy, "At the bound: error or block (default error)");
    cmd->add_option("--full-block-ms", a->full_block_ms, "Longest wait of a blocked send (default 1000)");
  };

  auto* topics = stream->add_subcommand("topics", "List the topics (name, partitions, records); subcommands manage them");
  topics->require_subcommand(0, 1);
  topics->callback([&ctx, topics] {
    if (topics->get_subcommands().empty()) ctx.Finish(RunTopics(ctx));
  });
  auto* create = topics->add_subcommand("create", "Create a topic");
  create->add_option("topic", a->topic, "Topic name, [A-Za-z0-9._-]{1,249}")->required();
  create->add_option("--partitions", a->partitions, "Partition count, 1..10000 (default 1)");
  create->add_option("--cleanup-policy", a->cleanup_policy, "delete or compact (default delete)");
  config_args(create);
  create->callback([&ctx, a] {
    ctx.Finish([&]() -> Result<Json> {
      DOTDO_ASSIGN_OR_RETURN(StreamTopicConfig c, ConfigFrom(*a));
      DOTDO_ASSIGN_OR_RETURN(StreamStore s, Open(ctx, /*create=*/true));
      DOTDO_ASSIGN_OR_RETURN(auto info, s.CreateTopic(a->topic, c));
      return StreamTopicInfoToJson(info);
    }());
  });
  // A topic command whose result is the topic's description.
  auto describing = [&ctx, a](CLI::App* cmd, Result<StreamTopicInfo> (*call)(StreamStore&, const StreamArgs&)) {
    cmd->callback([&ctx, a, call] {
      ctx.Finish([&]() -> Result<Json> {
        DOTDO_ASSIGN_OR_RETURN(StreamStore s, Open(ctx, /*create=*/false));
        DOTDO_ASSIGN_OR_RETURN(auto info, call(s, *a));
        return StreamTopicInfoToJson(info);
      }());
    });
  };
  auto* describe = topics->add_subcommand("describe", "A topic's configuration and partitions (offsets, records, bytes)");
  describe->add_option("topic", a->topic, "Topic name")->required();
  describing(describe, [](StreamStore& s, const StreamArgs& args) { return s.DescribeTopic(args.topic); });
  auto* add = topics->add_subcommand("add-partitions", "Grow a topic to TOTAL partitions");
  add->add_option("topic", a->topic, "Topic name")->required();
  add->add_option("total", a->partitions, "The new partition count")->required();
  describing(add, [](StreamStore& s, const StreamArgs& args) { return s.AddPartitions(args.topic, args.partitions); });
  auto* del = topics->add_subcommand("delete", "Delete a topic, its records and its committed offsets");
  del->add_option("topic", a->topic, "Topic name")->required();
  del->callback([&ctx, a] {
    ctx.Finish([&]() -> Result<Json> {
      DOTDO_ASSIGN_OR_RETURN(StreamStore s, Open(ctx, /*create=*/false));
      DOTDO_RETURN_IF_ERROR(s.DeleteTopic(a->topic));
      return Json{{"topic", a->topic}, {"deleted", true}};
    }());
  });

  auto* produce = stream->add_subcommand("produce", "Send one record per stdin line to TOPIC, all in one transaction");
  produce->add_option("topic", a->topic, "Topic name")->required();
  produce->add_flag("-K,--keyed", a->keyed, "Each line is key<delimiter>value (default delimiter TAB, like kcat -K)");
  produce->add_option("--key-delimiter", a->key_delimiter, "The key/value delimiter with -K (default TAB)");
  produce->add_option("--partition", a->partition, "Send every record to this partition (default: the partitioner)");
  produce->callback([&ctx, a] { ctx.Finish(RunProduce(ctx, *a)); });

  auto* consume = stream->add_subcommand("consume", "Print records of TOPIC as JSON lines");
  consume->add_option("topic", a->topic, "Topic name")->required();
  consume->add_option("--partition", a->partition, "Only this partition (default: all)");
  consume->add_option("--from", a->from, "beginning, end or an offset (with --partition); default beginning, "
                                         "or the committed offsets with --group");
  consume->add_option("--group", a->group, "Start from this group's committed offsets");
  consume->add_flag("--commit", a->commit, "Commit the positions reached for --group");
  consume->add_option("--max", a->max, "At most this many records (default 1000)");
  consume->callback([&ctx, a] {
    Status st = RunConsume(ctx, *a);
    if (!st.ok()) ctx.Fail(st);
  });

  auto* groups = stream->add_subcommand("groups", "The consumer groups, or one group's generation, members and offsets");
  groups->add_option("group", a->group, "Group id (default: list the groups)");
  groups->callback([&ctx, a] { ctx.Finish(RunGroups(ctx, *a)); });

  auto* lag = stream->add_subcommand("lag", "Committed offset, end offset and lag per partition for a group");
  lag->add_option("group", a->group, "Group id")->required();
  lag->add_option("--topic", a->topics, "Only these topics (default: the topics the group committed)");
  lag->callback([&ctx, a] { ctx.Finish(RunLag(ctx, *a)); });
});

}  // namespace
}  // namespace dotdo::cli
