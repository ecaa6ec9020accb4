// Stand-ins for the few Unreal Engine types and macros the GameGen plugin uses, so that
// tests/test_cpp_client.py can compile the plugin's sources with g++ and catch mistakes in its use
// of the gamegen C++ client and plain C++ errors. They are NOT Unreal: passing this check says
// nothing about the plugin building inside an engine.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

using int32 = int32_t;
using int64 = int64_t;
using uint8 = uint8_t;
using TCHAR = char;
#define TEXT(x) x
#define UTF8_TO_TCHAR(x) (x)
#define TCHAR_TO_UTF8(x) (x)
#define GAMEGEN_API
#define UCLASS(...)
#define USTRUCT(...)
#define UPROPERTY(...)
#define UFUNCTION(...)
#define GENERATED_BODY() \
 public:                 \
  using Super = UBlueprintAsyncActionBase;
#define THIRD_PARTY_INCLUDES_START
#define THIRD_PARTY_INCLUDES_END

template <class T>
T&& MoveTemp(T& v) { return static_cast<T&&>(v); }

class FString {
 public:
  FString() = default;
  FString(const char* s) : s_(s) {}
  bool IsEmpty() const { return s_.empty(); }
  const char* operator*() const { return s_.c_str(); }

 private:
  std::string s_;
};

template <class T>
class TArray {
 public:
  void Add(const T& v) { v_.push_back(v); }
  void Append(const T* p, int32 n) { v_.insert(v_.end(), p, p + n); }
  typename std::vector<T>::const_iterator begin() const { return v_.begin(); }
  typename std::vector<T>::const_iterator end() const { return v_.end(); }

 private:
  std::vector<T> v_;
};

template <class K, class V>
struct TPair {
  K Key;
  V Value;
};

template <class K, class V>
class TMap {
 public:
  typename std::vector<TPair<K, V>>::const_iterator begin() const { return v_.begin(); }
  typename std::vector<TPair<K, V>>::const_iterator end() const { return v_.end(); }

 private:
  std::vector<TPair<K, V>> v_;
};

enum class ESPMode { ThreadSafe };
template <class T, ESPMode M = ESPMode::ThreadSafe>
using TSharedPtr = std::shared_ptr<T>;
template <class T, ESPMode M = ESPMode::ThreadSafe, class... A>
std::shared_ptr<T> MakeShared(A&&... a) { return std::make_shared<T>(std::forward<A>(a)...); }

class UObject {
 public:
  virtual ~UObject() = default;
  virtual void BeginDestroy() {}
};

template <class T>
class TWeakObjectPtr {
 public:
  TWeakObjectPtr(T* p) : p_(p) {}
  T* Get() const { return p_; }

 private:
  T* p_;
};

template <class T>
T* NewObject() { return new T(); }

#define GAMEGEN_DELEGATE(Name)                 \
  struct Name {                                \
    template <class... A>                      \
    void Broadcast(const A&...) const {}       \
  };
#define DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(Name, ...) GAMEGEN_DELEGATE(Name)
#define DECLARE_DYNAMIC_MULTICAST_DELEGATE_TwoParams(Name, ...) GAMEGEN_DELEGATE(Name)
#define DECLARE_DYNAMIC_MULTICAST_DELEGATE_ThreeParams(Name, ...) GAMEGEN_DELEGATE(Name)
#define DECLARE_DYNAMIC_MULTICAST_DELEGATE_FourParams(Name, ...) GAMEGEN_DELEGATE(Name)
