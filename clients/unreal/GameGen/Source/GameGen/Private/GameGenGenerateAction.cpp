#include "GameGenGenerateAction.h"

#include "Async/Async.h"

THIRD_PARTY_INCLUDES_START
#include <gamegen/client.h>
THIRD_PARTY_INCLUDES_END

struct FGameGenCallState
{
	gamegen::CancelToken Token;
};

namespace
{
FString ToF(const std::string& S) { return FString(UTF8_TO_TCHAR(S.c_str())); }
std::string ToS(const FString& S) { return std::string(TCHAR_TO_UTF8(*S)); }
}  // namespace

UGameGenGenerateAction* UGameGenGenerateAction::GenerateContent(UObject* WorldContextObject, const FString& Server,
                                                                const FString& Model, int64 Seed,
                                                                const TMap<FString, FString>& Parameters,
                                                                const TArray<FString>& Formats, float TimeoutSeconds)
{
	UGameGenGenerateAction* Action = NewObject<UGameGenGenerateAction>();
	Action->Server = Server;
	Action->Model = Model;
	Action->Seed = Seed;
	Action->Parameters = Parameters;
	Action->Formats = Formats;
	Action->TimeoutSeconds = TimeoutSeconds;
	Action->State = MakeShared<FGameGenCallState, ESPMode::ThreadSafe>();
	Action->RegisterWithGameInstance(WorldContextObject);  // kept alive until SetReadyToDestroy
	return Action;
}

void UGameGenGenerateAction::Activate()
{
	gamegen::Request Request(ToS(Model), static_cast<uint64_t>(Seed));
	for (const FString& F : Formats) Request.Format(ToS(F));
	try
	{
		for (const TPair<FString, FString>& P : Parameters) Request.Set(ToS(P.Key), ToS(P.Value));
	}
	catch (const gamegen::Error& E)
	{
		Finish(TEXT("INVALID_ARGUMENT"), ToF(E.message()), FString());
		return;
	}
	gamegen::CallOptions Options;
	Options.cancel = State->Token;
	if (TimeoutSeconds > 0.f) Options.timeout = std::chrono::milliseconds(static_cast<int64>(TimeoutSeconds * 1000));

	TWeakObjectPtr<UGameGenGenerateAction> Weak(this);
	const std::string Target = ToS(Server);
	Async(EAsyncExecution::Thread, [Weak, Target, Request = MoveTemp(Request), Options]() {
		gamegen::Client Client(Target);
		std::unique_ptr<gamegen::Call> Call = Client.Generate(Request, Options);
		gamegen::Event Event;
		FString ContentHash;
		while (Call->Next(&Event))  // blocks this worker thread only; never throws
		{
			using T = gamegen::Event::Type;
			switch (Event.type())
			{
			case T::kProgress:
			{
				const float Fraction = Event.progress().fraction();
				const FString Stage = ToF(Event.progress().stage());
				AsyncTask(ENamedThreads::GameThread, [Weak, Fraction, Stage]() {
					if (UGameGenGenerateAction* Self = Weak.Get()) Self->OnProgress.Broadcast(Fraction, Stage);
				});
				break;
			}
			case T::kLevelChunk:
			{
				const gamegen::LevelChunk& C = Event.level_chunk();
				TArray<FString> Rows;
				for (const std::string& Row : C.rows()) Rows.Add(ToF(Row));
				const int32 X = C.x(), Y = C.y(), W = C.level_width();
				AsyncTask(ENamedThreads::GameThread, [Weak, X, Y, W, Rows = MoveTemp(Rows)]() {
					if (UGameGenGenerateAction* Self = Weak.Get()) Self->OnLevelChunk.Broadcast(X, Y, W, Rows);
				});
				break;
			}
			case T::kMusicBar:
			{
				const int32 Index = Event.music_bar().index(), Total = Event.music_bar().total_bars();
				const int32 Notes = Event.music_bar().notes_size();
				AsyncTask(ENamedThreads::GameThread, [Weak, Index, Total, Notes]() {
					if (UGameGenGenerateAction* Self = Weak.Get()) Self->OnMusicBar.Broadcast(Index, Total, Notes);
				});
				break;
			}
			case T::kAsset:
			{
				const gamegen::Asset& A = Event.asset();
				FGameGenAsset Asset;
				Asset.Name = ToF(A.name());
				Asset.MediaType = ToF(A.media_type());
				Asset.Format = ToF(A.format());
				Asset.Data.Append(reinterpret_cast<const uint8*>(A.data().data()), static_cast<int32>(A.data().size()));
				AsyncTask(ENamedThreads::GameThread, [Weak, Asset = MoveTemp(Asset)]() {
					if (UGameGenGenerateAction* Self = Weak.Get()) Self->OnAsset.Broadcast(Asset);
				});
				break;
			}
			case T::kFinal:
				ContentHash = ToF(Event.final().content_hash());
				break;
			case T::kUnknown:
				break;
			}
		}
		const gamegen::Status Status = Call->status();
		const FString Code = Status.ok() ? FString() : ToF(gamegen::StatusCodeName(Status.code()));
		const FString Message = ToF(Status.message());
		AsyncTask(ENamedThreads::GameThread, [Weak, Code, Message, ContentHash]() {
			if (UGameGenGenerateAction* Self = Weak.Get()) Self->Finish(Code, Message, ContentHash);
		});
	});
}

void UGameGenGenerateAction::Finish(const FString& Code, const FString& Message, const FString& ContentHash)
{
	if (Code.IsEmpty()) OnCompleted.Broadcast(ContentHash);
	else OnFailed.Broadcast(Code, Message);
	SetReadyToDestroy();
}

void UGameGenGenerateAction::Cancel()
{
	if (State) State->Token.Cancel();
}

void UGameGenGenerateAction::BeginDestroy()
{
	Cancel();  // the worker thread's call ends promptly; its game-thread tasks see a dead weak pointer
	Super::BeginDestroy();
}
