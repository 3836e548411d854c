"""Every property of the ImmyBot response schemas the fake answers with, and its .NET default.

Derived from ImmyBot's openapi.json (names only, no document copied); `tests/contracts/test_fake_shapes.py`
checks it is still in sync. Codes: n null, 0 zero, f false, s "", l [], d DateTime.MinValue, u Guid.Empty,
e:<Enum> the enum's first value. `ENUMS` maps each enum's names to its integers.
"""

from __future__ import annotations

PROPERTIES: dict[str, str] = {
    "GetGlobalSoftwareResponse": (
        "name=n licenseRequirement=e:SoftwareLicenseRequirement installOrder=0 hidden=f "
        "softwareType=e:SoftwareType identifier=n id=n ownerTenantId=n detectionMethod=e:DetectionMethod "
        "softwareTableName=n softwareVersions=n softwarePrerequisites=n detectionScriptId=n repairScriptId=n "
        "notes=n detectionScriptType=e:DatabaseType maintenanceTaskType=e:DatabaseType "
        "repairScriptType=e:DatabaseType maintenanceTaskId=n rebootNeeded=f updatedDateUTC=d createdDateUTC=d "
        "upgradeCode=n repairType=e:RepairActionType softwareTableNameSearchMode=e:SoftwareTableNameSearchMode "
        "softwareIconMediaId=n recommended=f chocoProviderSoftwareId=n niniteProviderSoftwareId=n softwareIcon=n "
        "installScriptId=n installScriptType=e:DatabaseType testScriptId=n testScriptType=e:DatabaseType "
        "testRequired=f testFailedError=n upgradeScriptId=n upgradeScriptType=e:DatabaseType "
        "upgradeStrategy=e:UpdateActionType agentIntegrationTypeId=n uninstallScriptId=n "
        "uninstallScriptType=e:DatabaseType postInstallScriptId=n postInstallScriptType=e:DatabaseType "
        "postUninstallScriptId=n postUninstallScriptType=e:DatabaseType licenseType=e:LicenseType "
        "licenseDescription=n useDynamicVersions=f dynamicVersionsScriptId=n "
        "dynamicVersionsScriptType=e:DatabaseType downloadInstallerScriptId=n "
        "downloadInstallerScriptType=e:DatabaseType"
    ),
    "GetLocalSoftwareResponse": (
        "name=n licenseRequirement=e:SoftwareLicenseRequirement installOrder=0 hidden=f "
        "softwareType=e:SoftwareType identifier=n id=n detectionScriptId=n repairScriptId=n "
        "detectionMethod=e:DetectionMethod softwareTableName=n notes=n detectionScriptType=e:DatabaseType "
        "repairScriptType=e:DatabaseType maintenanceTaskId=n maintenanceTaskType=e:DatabaseType "
        "softwareVersions=n softwarePrerequisites=n updatedDate=d rebootNeeded=f updatedDateUTC=d "
        "createdDateUTC=d updatedBy=n upgradeCode=n repairType=e:RepairActionType "
        "softwareTableNameSearchMode=e:SoftwareTableNameSearchMode softwareIconMediaId=n recommended=f "
        "chocoProviderSoftwareId=n niniteProviderSoftwareId=n softwareIcon=n installScriptId=n "
        "installScriptType=e:DatabaseType testScriptId=n testScriptType=e:DatabaseType testRequired=f "
        "testFailedError=n upgradeScriptId=n upgradeScriptType=e:DatabaseType upgradeStrategy=e:UpdateActionType "
        "agentIntegrationTypeId=n uninstallScriptId=n uninstallScriptType=e:DatabaseType postInstallScriptId=n "
        "postInstallScriptType=e:DatabaseType postUninstallScriptId=n postUninstallScriptType=e:DatabaseType "
        "licenseType=e:LicenseType licenseDescription=n useDynamicVersions=f dynamicVersionsScriptId=n "
        "dynamicVersionsScriptType=e:DatabaseType downloadInstallerScriptId=n "
        "downloadInstallerScriptType=e:DatabaseType"
    ),
    "GetTenantResponse": (
        "id=0 name=n slug=n parentTenantId=n ownerTenantId=n active=f azureTenantLink=n isMsp=f updatedBy=n "
        "updatedDateUTC=d createdBy=n createdDateUTC=d tenantTagIds=n tenantTagNames=n markedForDeletionAtUtc=n"
    ),
    "ComputerListViewModel": (
        "createdDate=d id=0 deletedAt=n isOnline=n primaryUserFirstName=n primaryUserLastName=n "
        "primaryUserEmail=n tenantName=n tenantId=0 primaryPersonId=n providerLinkIds=n computerTagIds=n "
        "deviceId=u onboardingStatus=e:ComputerOnboardingStatus activeSessionStatus=e:SessionStatus "
        "activeSessionId=n computerName=n chassisTypes=n operatingSystem=n manufacturer=n model=n serialNumber=n "
        "domainRole=n hasPendingReboot=n domain=n lastBootTimeUtc=n internalIpAddress=n externalIpAddress=n "
        "lastLoggedOnUser=n isSandbox=f excludeFromMaintenance=f notes=n devLabVmClaimExpirationDateUtc=n "
        "devLabVmUnclaimed=f devLabVmName=n isDevLab=f lastProviderAgentEventDateUtc=n licensed=n"
    ),
    "GetComputerResponse": (
        "id=0 deviceId=u tenantId=0 computerName=n primaryPersonId=n onboardingStatus=e:ComputerOnboardingStatus "
        "isOnline=f isDomainController=n isPortable=n isServer=n isDesktop=n tenantName=n inventory=n "
        "isMissingSomeRequiredInventoryResults=n detectionOutdated=f isSandbox=f excludeFromMaintenance=f "
        "devLabVmClaimExpirationDateUtc=n isDevLab=f devLabVmUnclaimed=f ephemeralAgentConnected=f licensed=f "
        "notes=n excludedFromUserAffinity=f sessions=n additionalPersons=n primaryPerson=n tenant=n agents=n "
        "computerTagIds=n"
    ),
    "GetPersonResponse": (
        "id=0 tenantId=0 azurePrincipalId=n firstName=n lastName=n emailAddress=n displayName=n updatedBy=n "
        "createdBy=n updatedDateUTC=d createdDateUTC=d primaryComputers=n additionalComputers=n user=n "
        "userAffinities=n"
    ),
    "GetMaintenanceSessionResponse": (
        "id=0 jobId=n computerId=n tenantId=n personId=n scheduledId=n sessionStatus=e:SessionStatus onboarding=f "
        "createdDateUTC=d updatedDateUTC=d updatedById=n createdById=n createdBy=n fullMaintenance=f "
        "computerName=n tenantName=n duration=n onboardingStageStatus=e:SessionStatus "
        "detectionStageStatus=e:SessionStatus executionStageStatus=e:SessionStatus "
        "agentUpdatesStageStatus=e:SessionStatus resolutionStageStatus=e:SessionStatus "
        "inventoryStageStatus=e:SessionStatus sessionJobArgs=n scheduledExecutionDate=n maintenanceActions=n "
        "stages=n activities=n logs=n computer=n tenant=n"
    ),
    "GetMaintenanceActionResponse": (
        "id=0 parentId=n maintenanceSessionId=0 tenantId=n computerId=n computerName=n isComputerOnline=f "
        "startTime=d endTime=d actionType=e:MaintenanceActionType actionTypeName=n "
        "status=e:MaintenanceActionStatus statusName=n assignmentId=n assignmentType=e:DatabaseType tenantName=n "
        "maintenanceType=e:MaintenanceType maintenanceIdentifier=n desiredSoftwareState=e:DesiredSoftwareState "
        "description=n postMaintenanceTest=n postMaintenanceTestType=n postMaintenanceTestResult=n "
        "postMaintenanceTestResultMessage=n maintenanceTypeName=n maintenanceDisplayName=n "
        "detectedVersionString=n desiredVersionString=n reason=e:MaintenanceActionReason "
        "result=e:MaintenanceActionResult resultName=n maintenanceTaskMode=e:MaintenanceTaskMode "
        "maintenanceTaskGetResult=n createdDateUTC=d updatedDateUTC=d updatedBy=n createdBy=n "
        "softwareType=e:SoftwareType maintenanceTaskType=e:DatabaseType "
        "resultReason=e:MaintenanceActionResultReason resultReasonMessage=n dependsOnNames=n dependentsNames=n "
        "softwareActionIdForConfigurationTask=n softwareProviderType=e:SoftwareProviderType policyDescription=n"
    ),
    "SessionJobArgs": (
        "sessionGroupId=n manuallyTriggeredByUserId=n manuallyResumedByPersonId=n manuallyResumed=f scheduledId=n "
        "computerId=n tenantId=n personId=n installWindowsUpdates=f cacheOnly=f "
        "rebootPreference=e:RebootPreference promptTimeoutAction=e:PromptTimeoutAction autoConsentToReboots=f "
        "promptTimeoutMinutes=0 propagateToChildTenants=f allowAccessToParentTenant=f "
        "maintenanceSchedulingConfiguration=n maintenanceOnboardingConfiguration=n "
        "maintenanceEmailConfiguration=n maintenanceAgentUpdatesConfiguration=n maintenanceItem=n deploymentId=n "
        "deploymentType=e:DatabaseType cacheGroupId=n rerunningAction=f actionIdToRerun=n terminalId=n "
        "detectionOnly=f runInventoryInDetection=f resolutionOnly=f inventoryOnly=f repair=f "
        "offlineBehavior=e:ComputerOfflineMaintenanceSessionBehavior suppressRebootsDuringBusinessHours=f "
        "appliedOnConnect=f useWinningDeployment=f hasSessionFeatureBeenTracked=f rerunFromScheduleId=n "
        "enqueuedSessionType=e:EnqueuedSessionType"
    ),
    "RunImmyServiceResponseBody": (
        "sessionsStarted=n sessionsAlreadyInProgress=n"
    ),
    "RunImmyServiceResponseSession": (
        "personId=n tenantId=n computerId=n sessionId=0"
    ),
    "GetMaintenanceSessionLogResponse": (
        "id=0 progressCorrelationId=n sessionPhaseId=n message=n maintenanceSessionId=0 maintenanceSessionStageId=n "
        "maintenanceActionId=n maintenanceActionStatus=e:MaintenanceActionStatus scriptId=n script=n scriptOutput=n "
        "scriptType=e:DatabaseType scriptLanguage=e:ScriptLanguage scriptParameters=n paramBlockParameters=n "
        "time=d updatedTime=n sessionLogType=e:SessionLogType scriptTimeout=n "
        "scriptExecutionContext=e:ScriptExecutionContext isPrimary=f progressPercentComplete=n progressActivity=n "
        "progressStatus=n progressSecondsRemaining=n progressCurrentOperation=n progressCompleted=f"
    ),
    "LoadResult": (
        "data=n totalCount=0 groupCount=0 summary=n"
    ),
}
ENUMS: dict[str, str] = {
    "ComputerOfflineMaintenanceSessionBehavior": (
        "Skip=1 ApplyOnConnect=2"
    ),
    "ComputerOnboardingStatus": (
        "NeedsOnboarding=0 Onboarding=1 Onboarded=2"
    ),
    "DatabaseType": (
        "Global=0 Local=1"
    ),
    "DesiredSoftwareState": (
        "NewerOrEqualVersion=0 NotPresent=1 AnyVersion=2 ThisVersion=3 OlderOrEqualVersion=4 LatestVersion=5 "
        "NoAction=6 UpdateIfFound=7"
    ),
    "DetectionMethod": (
        "SoftwareTable=0 CustomDetectionScript=1 UpgradeCode=2 ProductCode=3"
    ),
    "EnqueuedSessionType": (
        "HangfireAdhoc=1 HangfireOnboarding=2 HangfireScheduled=3 HangfireConnectivityTriggered=4 NotHangfire=5"
    ),
    "LicenseType": (
        "None=0 LicenseFile=1 Key=2"
    ),
    "MaintenanceActionReason": (
        "SoftwareMissing=0 UpdateAvailable=1 UpToDate=2 NotAssigned=3 TestFailed=4 SoftwareDetected=5 "
        "OlderVersionRequired=6 NoApplicableSoftwareVersion=7 NoAction=8 Undetermined=9 TaskEnforce=10 "
        "TaskAudit=11 TaskMonitor=12 TaskNotCompliant=13 TaskCompliant=14 DeviceOffline=15 RepairTriggered=16"
    ),
    "MaintenanceActionResult": (
        "Pending=0 Success=1 Failed=2 Cancelled=3 Indeterminable=4 Resolved=5"
    ),
    "MaintenanceActionResultReason": (
        "NoLicenseAvailable=0 SoftwareNotFound=1 DetectionActionFailed=2 TaskNotFound=3 TaskNotCompliant=4 "
        "TaskCompliant=5 TaskSetIsMissing=6 TaskTestIsMissing=7 TaskGetIsMissing=8 "
        "SoftwareConfigurationTaskMissing=9 TaskModeIsMissing=10 DeviceOffline=11 RebootsSuppressed=12"
    ),
    "MaintenanceActionStatus": (
        "NotStarted=0 Downloading=1 PerformingAction=2 DeterminingResult=3 Complete=4 WaitingForPrerequisite=5 "
        "DeterminingAction=6 Skipped=7 PendingExecution=8"
    ),
    "MaintenanceActionType": (
        "NoAction=0 Install=1 Update=2 Uninstall=3 Download=4 Reinstall=5 Downgrade=6 Undetermined=7 "
        "TaskEnforce=8 TaskMonitor=9 TaskAudit=10"
    ),
    "MaintenanceTaskMode": (
        "Enforce=0 Audit=1 Monitor=2 NoAction=3"
    ),
    "MaintenanceType": (
        "GlobalSoftware=0 LocalSoftware=1 WindowsUpdate=2 ChocolateySoftware=3 NiniteSoftware=4 "
        "LocalMaintenanceTask=5 GlobalMaintenanceTask=6 AgentUpdate=7"
    ),
    "PromptTimeoutAction": (
        "Reboot=0 Suppress=1 FailSession=2"
    ),
    "RebootPreference": (
        "Normal=0 Suppress=1 Prompt=2 Force=-1"
    ),
    "RepairActionType": (
        "None=0 UninstallInstall=1 InstallOver=2 CustomScript=3"
    ),
    "ScriptExecutionContext": (
        "System=0 CurrentUser=1 Metascript=2 CloudScript=4"
    ),
    "ScriptLanguage": (
        "CommandLine=1 PowerShell=2"
    ),
    "SessionLogType": (
        "Generic=0 Error=1 Command=2 CommandResult=3 Progress=4"
    ),
    "SessionStatus": (
        "Passed=0 Running=1 Failed=2 Created=3 Cancelled=4 Postponed=5 Pending=6 PartialPassed=7 "
        "PendingConnectivity=8 Missed=9 MaxTrackedDevicesPerMonthExceeded=10 PendingPreflight=11 "
        "PendingEphemeralAgentConnection=12 MaintenanceForTrackableDevicesNotAllowed=13"
    ),
    "SoftwareLicenseRequirement": (
        "None=0 Required=1 Optional=2"
    ),
    "SoftwareProviderType": (
        "Ninite=1 Chocolatey=2 Inherent=3"
    ),
    "SoftwareTableNameSearchMode": (
        "Contains=0 Regex=1 Traditional=2"
    ),
    "SoftwareType": (
        "GlobalSoftware=0 LocalSoftware=1 WindowsUpdate=2 Chocolatey=3 Ninite=4"
    ),
    "UpdateActionType": (
        "None=0 UninstallInstall=1 InstallOver=2 UpgradeScript=3"
    ),
}
