// A Blueprint node that streams one generation from a gamegen server:
//   Generate Content (Server, Model, Seed, Parameters, Formats) -> On Progress / On Level Chunk /
//   On Music Bar / On Asset / On Completed / On Failed, and Cancel() on the returned action.
// The call runs on its own thread through the gamegen C++ client; every event is handed to the
// game thread before the delegates fire. Not compiled in this repository's CI (see README.md).
#pragma once

#include "CoreMinimal.h"
#include "Kismet/BlueprintAsyncActionBase.h"

#include "GameGenGenerateAction.generated.h"

USTRUCT(BlueprintType)
struct GAMEGEN_API FGameGenAsset
{
	GENERATED_BODY()

	UPROPERTY(BlueprintReadOnly, Category = "GameGen") FString Name;       // "level.tmj", "albedo.png"
	UPROPERTY(BlueprintReadOnly, Category = "GameGen") FString MediaType;  // "image/png" ...
	UPROPERTY(BlueprintReadOnly, Category = "GameGen") FString Format;     // the requested format; "preview" for early previews
	UPROPERTY(BlueprintReadOnly, Category = "GameGen") TArray<uint8> Data;
};

DECLARE_DYNAMIC_MULTICAST_DELEGATE_TwoParams(FGameGenProgressDelegate, float, Fraction, const FString&, Stage);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_FourParams(FGameGenLevelChunkDelegate, int32, X, int32, Y, int32, LevelWidth,
                                              const TArray<FString>&, Rows);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_ThreeParams(FGameGenMusicBarDelegate, int32, Index, int32, TotalBars, int32, Notes);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FGameGenAssetDelegate, const FGameGenAsset&, Asset);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FGameGenCompletedDelegate, const FString&, ContentHash);
// Code is gRPC's name for it: "NOT_FOUND", "INVALID_ARGUMENT", "UNAVAILABLE", "CANCELLED" ...
DECLARE_DYNAMIC_MULTICAST_DELEGATE_TwoParams(FGameGenFailedDelegate, const FString&, Code, const FString&, Message);

struct FGameGenCallState;

UCLASS()
class GAMEGEN_API UGameGenGenerateAction : public UBlueprintAsyncActionBase
{
	GENERATED_BODY()

public:
	// Parameters are set by name from text, as ListModels names them ("width" -> "300").
	UFUNCTION(BlueprintCallable, Category = "GameGen",
	          meta = (BlueprintInternalUseOnly = "true", WorldContext = "WorldContextObject",
	                  AutoCreateRefTerm = "Parameters,Formats"))
	static UGameGenGenerateAction* GenerateContent(UObject* WorldContextObject, const FString& Server,
	                                               const FString& Model, int64 Seed,
	                                               const TMap<FString, FString>& Parameters,
	                                               const TArray<FString>& Formats, float TimeoutSeconds = 0.f);

	// Stops the generation (the server stops too); On Failed fires with CANCELLED.
	UFUNCTION(BlueprintCallable, Category = "GameGen")
	void Cancel();

	UPROPERTY(BlueprintAssignable) FGameGenProgressDelegate OnProgress;
	UPROPERTY(BlueprintAssignable) FGameGenLevelChunkDelegate OnLevelChunk;
	UPROPERTY(BlueprintAssignable) FGameGenMusicBarDelegate OnMusicBar;
	UPROPERTY(BlueprintAssignable) FGameGenAssetDelegate OnAsset;
	UPROPERTY(BlueprintAssignable) FGameGenCompletedDelegate OnCompleted;
	UPROPERTY(BlueprintAssignable) FGameGenFailedDelegate OnFailed;

	virtual void Activate() override;
	virtual void BeginDestroy() override;

private:
	void Finish(const FString& Code, const FString& Message, const FString& ContentHash);

	FString Server;
	FString Model;
	int64 Seed = 0;
	TMap<FString, FString> Parameters;
	TArray<FString> Formats;
	float TimeoutSeconds = 0.f;
	TSharedPtr<FGameGenCallState, ESPMode::ThreadSafe> State;
};
