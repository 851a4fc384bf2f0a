// BpfObject: an ELF object opened with libbpf, configured (pin paths, reused map fds, sizes),
// loaded, and then mined for fds, which are handed out as O_CLOEXEC duplicates so JS owns them
// independently of the object (src/bpf/collection.ts closes the object right after load).
//
// libbpf 1.1 notes:
// - LIBBPF_OPTS() relies on GNU C statement expressions and compound literals that C++ rejects;
//   options structs are zeroed and sized by hand instead.
// - bpf_object__open_mem() keeps pointers into the caller's buffer while opening, so the image is
//   copied and owned by the handle for its whole life.
// - bpf_map__reuse_fd() adopts the fd's definition without comparing it to the declared one; the
//   TS layer compares them first (collection.ts) and refuses incompatible replacements.
// - bpf_map__reuse_fd() also renames the object's map to the kernel name of the adopted map
//   (truncated to 15 characters, often empty), after which bpf_object__find_map_by_name() no
//   longer finds it. Maps are therefore looked up in a name table taken right after open.
// - A failed bpf_object__load() leaves the object unusable; the caller closes it.
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <cstring>
#include <vector>

#include "common.h"

namespace burrow {

namespace {

class BpfObject : public Napi::ObjectWrap<BpfObject> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "BpfObject",
                       {InstanceMethod<&BpfObject::Maps>("maps"),
                        InstanceMethod<&BpfObject::Programs>("programs"),
                        InstanceMethod<&BpfObject::SetMapPinPath>("setMapPinPath"),
                        InstanceMethod<&BpfObject::SetMapMaxEntries>("setMapMaxEntries"),
                        InstanceMethod<&BpfObject::ReuseMapFd>("reuseMapFd"),
                        InstanceMethod<&BpfObject::Load>("load"),
                        InstanceMethod<&BpfObject::MapFd>("mapFd"),
                        InstanceMethod<&BpfObject::ProgFd>("progFd"),
                        InstanceMethod<&BpfObject::BtfStruct>("btfStruct"),
                        InstanceMethod<&BpfObject::BtfEnum>("btfEnum"),
                        InstanceMethod<&BpfObject::Close>("close")});
  }

  // new BpfObject(pathOrImage, {name?, pinRootPath?})
  explicit BpfObject(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BpfObject>(info) {
    Napi::Env env = info.Env();
    Napi::Object opts = ArgOptions(info, 1);
    std::string name, pin_root;
    bool has_name = OptString(opts, "name", &name);
    bool has_pin_root = OptString(opts, "pinRootPath", &pin_root);

    struct bpf_object_open_opts oo;
    memset(&oo, 0, sizeof(oo));
    oo.sz = sizeof(oo);
    if (has_name) oo.object_name = name.c_str();
    // Maps declared with LIBBPF_PIN_BY_NAME would otherwise land in /sys/fs/bpf.
    if (has_pin_root) oo.pin_root_path = pin_root.c_str();

    LibbpfLogCapture cap;
    if (info[0].IsString()) {
      std::string path = info[0].As<Napi::String>().Utf8Value();
      obj_ = bpf_object__open_file(path.c_str(), &oo);
    } else {
      Napi::Uint8Array img = ArgBytes(info, 0, "path or ELF image");
      image_.assign(img.Data(), img.Data() + img.ByteLength());
      obj_ = bpf_object__open_mem(image_.data(), image_.size(), &oo);
    }
    if (obj_ == nullptr) {
      int err = errno;
      Napi::Error e = ErrnoError(env, err, "bpf_object__open");
      e.Set("libbpfLog", cap.Text());
      throw e;
    }
    struct bpf_map* m;
    bpf_object__for_each_map(m, obj_) maps_.emplace_back(bpf_map__name(m), m);
  }

  ~BpfObject() override {
    if (obj_ != nullptr) bpf_object__close(obj_);
  }

 private:
  struct bpf_object* obj_ = nullptr;
  std::vector<uint8_t> image_;
  std::vector<std::pair<std::string, struct bpf_map*>> maps_;  // names as declared in the ELF

  struct bpf_object* Obj(Napi::Env env) {
    if (obj_ == nullptr) throw Napi::Error::New(env, "BpfObject is closed");
    return obj_;
  }

  struct bpf_map* FindMap(const Napi::CallbackInfo& info) {
    std::string name = ArgString(info, 0, "map name");
    Obj(info.Env());
    for (const auto& [n, m] : maps_)
      if (n == name) return m;
    throw ErrnoError(info.Env(), ENOENT, "no map '" + name + "' in the object");
  }

  struct bpf_program* FindProg(const Napi::CallbackInfo& info) {
    std::string name = ArgString(info, 0, "program name");
    struct bpf_program* p = bpf_object__find_program_by_name(Obj(info.Env()), name.c_str());
    if (p == nullptr) throw ErrnoError(info.Env(), ENOENT, "no program '" + name + "' in the object");
    return p;
  }

  Napi::Value Maps(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    struct bpf_object* obj = Obj(env);
    const struct btf* btf = bpf_object__btf(obj);
    Napi::Array out = Napi::Array::New(env);
    for (const auto& [name, m] : maps_) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", name);
      o.Set("type", Napi::Number::New(env, bpf_map__type(m)));
      o.Set("keySize", Napi::Number::New(env, bpf_map__key_size(m)));
      o.Set("valueSize", Napi::Number::New(env, bpf_map__value_size(m)));
      o.Set("maxEntries", Napi::Number::New(env, bpf_map__max_entries(m)));
      o.Set("flags", Napi::Number::New(env, bpf_map__map_flags(m)));
      o.Set("internal", Napi::Boolean::New(env, bpf_map__is_internal(m)));
      const char* pin = bpf_map__pin_path(m);
      o.Set("pinPath", pin != nullptr ? Napi::Value(Napi::String::New(env, pin)) : env.Null());
      o.Set("keyType", DescribeTypeId(env, btf, bpf_map__btf_key_type_id(m)));
      o.Set("valueType", DescribeTypeId(env, btf, bpf_map__btf_value_type_id(m)));
      out.Set(out.Length(), o);
    }
    return out;
  }

  Napi::Value Programs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Array out = Napi::Array::New(env);
    struct bpf_program* p;
    bpf_object__for_each_program(p, Obj(env)) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", bpf_program__name(p));
      o.Set("section", bpf_program__section_name(p));
      o.Set("type", Napi::Number::New(env, bpf_program__type(p)));
      o.Set("expectedAttachType", Napi::Number::New(env, bpf_program__expected_attach_type(p)));
      out.Set(out.Length(), o);
    }
    return out;
  }

  // setMapPinPath(name, path | null): at load libbpf reuses a compatible map pinned there or
  // creates and pins one (an incompatible pinned map fails the load).
  Napi::Value SetMapPinPath(const Napi::CallbackInfo& info) {
    struct bpf_map* m = FindMap(info);
    std::string path;
    bool clear = IsAbsent(info[1]);
    if (!clear) path = ArgString(info, 1, "pin path");
    Check(info.Env(), bpf_map__set_pin_path(m, clear ? nullptr : path.c_str()), "bpf_map__set_pin_path");
    return info.Env().Undefined();
  }

  Napi::Value SetMapMaxEntries(const Napi::CallbackInfo& info) {
    struct bpf_map* m = FindMap(info);
    uint32_t n = ArgU32(info, 1, "max entries");
    Check(info.Env(), bpf_map__set_max_entries(m, n), "bpf_map__set_max_entries");
    return info.Env().Undefined();
  }

  // reuseMapFd(name, fd): the object uses this existing map instead of creating one. libbpf dups
  // the fd, so the caller keeps ownership of its own.
  Napi::Value ReuseMapFd(const Napi::CallbackInfo& info) {
    struct bpf_map* m = FindMap(info);
    int fd = ArgFd(info, 1, "map fd");
    Check(info.Env(), bpf_map__reuse_fd(m, fd), "bpf_map__reuse_fd");
    return info.Env().Undefined();
  }

  Napi::Value Load(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    LibbpfLogCapture cap;
    int err = bpf_object__load(Obj(env));
    if (err != 0) {
      Napi::Error e = ErrnoError(env, err, "bpf_object__load");
      std::string prog;
      std::string log = cap.VerifierLog(&prog);
      if (!log.empty()) {
        e.Set("verifierLog", log);
        e.Set("program", prog);
      }
      e.Set("libbpfLog", cap.Text());
      throw e;
    }
    return env.Undefined();
  }

  Napi::Value MapFd(const Napi::CallbackInfo& info) {
    int fd = bpf_map__fd(FindMap(info));
    if (fd < 0) throw ErrnoError(info.Env(), EBADF, "bpf_map__fd (object not loaded?)");
    return Napi::Number::New(info.Env(), DupFd(info.Env(), fd));
  }

  Napi::Value ProgFd(const Napi::CallbackInfo& info) {
    int fd = bpf_program__fd(FindProg(info));
    if (fd < 0) throw ErrnoError(info.Env(), EBADF, "bpf_program__fd (object not loaded?)");
    return Napi::Number::New(info.Env(), DupFd(info.Env(), fd));
  }

  Napi::Value BtfStruct(const Napi::CallbackInfo& info) {
    std::string name = ArgString(info, 0, "struct name");
    return DescribeStruct(info.Env(), bpf_object__btf(Obj(info.Env())), name);
  }

  Napi::Value BtfEnum(const Napi::CallbackInfo& info) {
    std::string name = ArgString(info, 0, "enum name");
    return DescribeEnum(info.Env(), bpf_object__btf(Obj(info.Env())), name);
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (obj_ != nullptr) bpf_object__close(obj_);
    obj_ = nullptr;
    image_.clear();
    maps_.clear();
    return info.Env().Undefined();
  }
};

}  // namespace

void InitObject(Napi::Env env, Napi::Object exports) { exports.Set("BpfObject", BpfObject::Define(env)); }

}  // namespace burrow
