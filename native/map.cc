// MapHandle: owns a map fd and the sizes the kernel will read and write through it. Every element
// operation checks the caller's buffers against those sizes first, because the kernel copies
// key_size / value_size bytes to and from whatever pointer it is given: a short Buffer from JS
// would otherwise be a heap overflow. Per-CPU maps read and write round_up(value_size, 8) bytes
// for each possible CPU (libbpf_num_possible_cpus), not value_size.
//
// Batch operations report "end of map" as ENOENT together with a valid count; that protocol is
// decoded here ({count, done}). Every other failure is an ErrnoError; update/delete batch errors
// carry .processed, the number of elements the kernel handled before failing.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "common.h"

namespace burrow {

namespace {

bool IsPerCpu(uint32_t type) {
  return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY ||
         type == BPF_MAP_TYPE_LRU_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

int PossibleCpus(Napi::Env env) { return Check(env, libbpf_num_possible_cpus(), "libbpf_num_possible_cpus"); }

Napi::Object MapInfo(Napi::Env env, int fd) {
  struct bpf_map_info mi;
  memset(&mi, 0, sizeof(mi));
  uint32_t len = sizeof(mi);
  Check(env, bpf_obj_get_info_by_fd(fd, &mi, &len), "bpf_obj_get_info_by_fd");
  Napi::Object o = Napi::Object::New(env);
  o.Set("type", Napi::Number::New(env, mi.type));
  o.Set("id", Napi::Number::New(env, mi.id));
  o.Set("keySize", Napi::Number::New(env, mi.key_size));
  o.Set("valueSize", Napi::Number::New(env, mi.value_size));
  o.Set("maxEntries", Napi::Number::New(env, mi.max_entries));
  o.Set("flags", Napi::Number::New(env, mi.map_flags));
  o.Set("name", Napi::String::New(env, mi.name));
  return o;
}

class MapHandle : public Napi::ObjectWrap<MapHandle> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "MapHandle",
                       {InstanceAccessor<&MapHandle::Fd>("fd"),
                        InstanceAccessor<&MapHandle::ValueBufferSize>("valueBufferSize"),
                        InstanceMethod<&MapHandle::Info>("info"),
                        InstanceMethod<&MapHandle::Lookup>("lookup"),
                        InstanceMethod<&MapHandle::Update>("update"),
                        InstanceMethod<&MapHandle::Delete>("delete"),
                        InstanceMethod<&MapHandle::NextKey>("nextKey"),
                        InstanceMethod<&MapHandle::LookupBatch>("lookupBatch"),
                        InstanceMethod<&MapHandle::UpdateBatch>("updateBatch"),
                        InstanceMethod<&MapHandle::DeleteBatch>("deleteBatch"),
                        InstanceMethod<&MapHandle::Close>("close")});
  }

  // new MapHandle(fd): takes ownership of fd once the info query has shown it is a map.
  explicit MapHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<MapHandle>(info) {
    Napi::Env env = info.Env();
    int fd = ArgFd(info, 0, "map fd");
    struct bpf_map_info mi;
    memset(&mi, 0, sizeof(mi));
    uint32_t len = sizeof(mi);
    Check(env, bpf_obj_get_info_by_fd(fd, &mi, &len), "bpf_obj_get_info_by_fd");
    if (mi.key_size == 0 && mi.value_size == 0 && mi.max_entries == 0)
      throw Napi::TypeError::New(env, "fd " + std::to_string(fd) + " is not a BPF map");
    key_size_ = mi.key_size;
    value_buf_ = mi.value_size;
    if (IsPerCpu(mi.type)) value_buf_ = ((mi.value_size + 7) & ~7u) * static_cast<uint32_t>(PossibleCpus(env));
    fd_ = fd;
  }

  ~MapHandle() override {
    if (fd_ >= 0) close(fd_);
  }

 private:
  int fd_ = -1;
  uint32_t key_size_ = 0;
  uint32_t value_buf_ = 0;

  int Live(Napi::Env env) {
    if (fd_ < 0) throw ErrnoError(env, EBADF, "map is closed");
    return fd_;
  }

  // Element buffers must match the map exactly; batch buffers must hold `count` elements.
  void Need(Napi::Env env, const Napi::Uint8Array& b, size_t want, const char* what, bool exact) {
    if (exact ? b.ByteLength() != want : b.ByteLength() < want)
      throw Napi::RangeError::New(env, std::string(what) + " is " + std::to_string(b.ByteLength()) +
                                           " bytes, the map needs " + (exact ? "" : "at least ") +
                                           std::to_string(want));
  }

  const void* KeyArg(const Napi::CallbackInfo& info, size_t i) {
    Napi::Uint8Array k = ArgBytes(info, i, "key");
    Need(info.Env(), k, key_size_, "key", true);
    return k.Data();
  }

  Napi::Value Fd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }
  Napi::Value ValueBufferSize(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), value_buf_); }
  Napi::Value Info(const Napi::CallbackInfo& info) { return MapInfo(info.Env(), Live(info.Env())); }

  Napi::Value Lookup(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const void* key = KeyArg(info, 0);
    Napi::Uint8Array out = ArgBytes(info, 1, "value out");
    Need(env, out, value_buf_, "value buffer", true);
    Check(env, bpf_map_lookup_elem(Live(env), key, out.Data()), "bpf_map_lookup_elem");
    return env.Undefined();
  }

  Napi::Value Update(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const void* key = KeyArg(info, 0);
    Napi::Uint8Array val = ArgBytes(info, 1, "value");
    Need(env, val, value_buf_, "value", true);
    uint32_t flags = ArgU32(info, 2, "flags");
    Check(env, bpf_map_update_elem(Live(env), key, val.Data(), flags), "bpf_map_update_elem");
    return env.Undefined();
  }

  Napi::Value Delete(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Check(env, bpf_map_delete_elem(Live(env), KeyArg(info, 0)), "bpf_map_delete_elem");
    return env.Undefined();
  }

  // nextKey(key | null, out) → false once key was the last one.
  Napi::Value NextKey(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const void* key = IsAbsent(info[0]) ? nullptr : KeyArg(info, 0);
    Napi::Uint8Array out = ArgBytes(info, 1, "next key out");
    Need(env, out, key_size_, "next key buffer", true);
    int ret = bpf_map_get_next_key(Live(env), key, out.Data());
    if (ret == -ENOENT) return Napi::Boolean::New(env, false);
    Check(env, ret, "bpf_map_get_next_key");
    return Napi::Boolean::New(env, true);
  }

  // The batch cursor is a bucket index (u32) for hash maps and a key for arrays.
  void NeedToken(Napi::Env env, const Napi::Uint8Array& t, const char* what) {
    Need(env, t, std::max<size_t>(key_size_, 4), what, false);
  }

  // lookupBatch(inToken | null, outToken, keys, values, count) → {count, done}
  Napi::Value LookupBatch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Uint8Array in_tok, out_tok = ArgBytes(info, 1, "out batch token");
    bool first = IsAbsent(info[0]);
    if (!first) {
      in_tok = ArgBytes(info, 0, "in batch token");
      NeedToken(env, in_tok, "in batch token");
    }
    NeedToken(env, out_tok, "out batch token");
    Napi::Uint8Array keys = ArgBytes(info, 2, "keys out");
    Napi::Uint8Array vals = ArgBytes(info, 3, "values out");
    uint32_t count = ArgU32(info, 4, "count");
    Need(env, keys, static_cast<size_t>(count) * key_size_, "keys buffer", false);
    Need(env, vals, static_cast<size_t>(count) * value_buf_, "values buffer", false);
    struct bpf_map_batch_opts o;
    memset(&o, 0, sizeof(o));
    o.sz = sizeof(o);
    int ret = bpf_map_lookup_batch(Live(env), first ? nullptr : in_tok.Data(), out_tok.Data(), keys.Data(),
                                   vals.Data(), &count, &o);
    bool done = ret == -ENOENT;
    if (!done) Check(env, ret, "bpf_map_lookup_batch");
    Napi::Object r = Napi::Object::New(env);
    r.Set("count", Napi::Number::New(env, count));
    r.Set("done", Napi::Boolean::New(env, done));
    return r;
  }

  Napi::Value BatchResult(Napi::Env env, int ret, uint32_t count, const char* op) {
    if (ret < 0) {
      Napi::Error e = ErrnoError(env, ret, op);
      e.Set("processed", Napi::Number::New(env, count));
      throw e;
    }
    return Napi::Number::New(env, count);
  }

  // updateBatch(keys, values, count, elemFlags) → count
  Napi::Value UpdateBatch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Uint8Array keys = ArgBytes(info, 0, "keys");
    Napi::Uint8Array vals = ArgBytes(info, 1, "values");
    uint32_t count = ArgU32(info, 2, "count");
    Need(env, keys, static_cast<size_t>(count) * key_size_, "keys buffer", false);
    Need(env, vals, static_cast<size_t>(count) * value_buf_, "values buffer", false);
    struct bpf_map_batch_opts o;
    memset(&o, 0, sizeof(o));
    o.sz = sizeof(o);
    o.elem_flags = ArgU32(info, 3, "element flags");
    int ret = bpf_map_update_batch(Live(env), keys.Data(), vals.Data(), &count, &o);
    return BatchResult(env, ret, count, "bpf_map_update_batch");
  }

  // deleteBatch(keys, count) → count
  Napi::Value DeleteBatch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Uint8Array keys = ArgBytes(info, 0, "keys");
    uint32_t count = ArgU32(info, 1, "count");
    Need(env, keys, static_cast<size_t>(count) * key_size_, "keys buffer", false);
    struct bpf_map_batch_opts o;
    memset(&o, 0, sizeof(o));
    o.sz = sizeof(o);
    int ret = bpf_map_delete_batch(Live(env), keys.Data(), &count, &o);
    return BatchResult(env, ret, count, "bpf_map_delete_batch");
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    return info.Env().Undefined();
  }
};

// mapCreate(type, keySize, valueSize, maxEntries, {flags?, name?}) → fd
Napi::Value MapCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t type = ArgU32(info, 0, "map type");
  uint32_t key_size = ArgU32(info, 1, "key size");
  uint32_t value_size = ArgU32(info, 2, "value size");
  uint32_t max_entries = ArgU32(info, 3, "max entries");
  Napi::Object opts = ArgOptions(info, 4);
  std::string name;
  bool has_name = OptString(opts, "name", &name);
  struct bpf_map_create_opts o;
  memset(&o, 0, sizeof(o));
  o.sz = sizeof(o);
  o.map_flags = OptU32(opts, "flags", 0);
  int fd = bpf_map_create(static_cast<enum bpf_map_type>(type), has_name ? name.c_str() : nullptr, key_size,
                          value_size, max_entries, &o);
  return Napi::Number::New(env, Check(env, fd, "bpf_map_create"));
}

Napi::Value MapInfoByFd(const Napi::CallbackInfo& info) { return MapInfo(info.Env(), ArgFd(info, 0, "map fd")); }

Napi::Value NumPossibleCpus(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), PossibleCpus(info.Env()));
}

}  // namespace

void InitMap(Napi::Env env, Napi::Object exports) {
  exports.Set("MapHandle", MapHandle::Define(env));
  exports.Set("mapCreate", Napi::Function::New<MapCreate>(env, "mapCreate"));
  exports.Set("mapInfo", Napi::Function::New<MapInfoByFd>(env, "mapInfo"));
  exports.Set("possibleCpus", Napi::Function::New<NumPossibleCpus>(env, "possibleCpus"));
}

}  // namespace burrow
