<#
.SYNOPSIS
  One-off Microsoft 365 tenant setup for Chaperone (run by the school's or trust's Microsoft 365 admin).

.DESCRIPTION
  1. Gives Chaperone's identity the Microsoft Graph application permissions it uses (and nothing
     else), with admin consent. In Azure (infra/azuredeploy.json) that identity is the web app's
     user-assigned managed identity; on other hosts, a single-tenant app registration.
  2. Creates a Teams application access policy so the app may create and read online meetings
     for the teachers' group only (without it Graph answers 403 "No application access policy
     found for this app"; a new policy can take up to 30 minutes to apply).
  3. Limits the app's calendar access to the teachers' mailboxes (Exchange application access policy).
  4. Creates a Teams meeting policy for the teachers that keeps the lobby on and stops organisers
     overriding the lobby settings that Chaperone applies.

  Every permission and why it is needed: infra/README.md.

.PARAMETER AppId
  The client id of Chaperone's identity: the deployment's MICROSOFT_APP_ID output (the managed
  identity's client id, also the Azure Bot's app id), or your app registration's Application
  (client) ID on other hosts.

.PARAMETER TeachersGroupId
  Object id of the mail-enabled security group of staff who may book sessions.

.PARAMETER TeachersGroupMail
  That group's email address (Exchange scopes policies by address).

.EXAMPLE
  ./tenant-setup.ps1 -AppId 11111111-2222-3333-4444-555555555555 -TeachersGroupId 66666666-... -TeachersGroupMail chaperone-teachers@example.org
#>
[CmdletBinding(SupportsShouldProcess = $true)]
param(
    [Parameter(Mandatory = $true)][Guid]$AppId,
    [Parameter(Mandatory = $true)][Guid]$TeachersGroupId,
    [Parameter(Mandatory = $true)][string]$TeachersGroupMail,
    [string]$PolicyName = "Chaperone",
    [switch]$SkipMeetingPolicy
)

$ErrorActionPreference = "Stop"
$GraphAppId = "00000003-0000-0000-c000-000000000000"   # Microsoft Graph
$Permissions = @(
    "Calendars.ReadWrite",             # create and cancel the session's calendar event in the organiser's calendar
    "OnlineMeetings.ReadWrite.All",    # find the event's Teams meeting and set lobby, presenters, chat, recording, mic/camera
    "OnlineMeetingArtifact.Read.All",  # read the attendance report after the session, into the register
    "GroupMember.Read.All"             # read the SLT, DSL and admin groups' members (object ids only), for roles
)

foreach ($module in "Microsoft.Graph.Applications", "MicrosoftTeams", "ExchangeOnlineManagement") {
    if (-not (Get-Module -ListAvailable -Name $module)) {
        throw "PowerShell module $module is needed: Install-Module $module -Scope CurrentUser"
    }
}

# --- 1. Graph application permissions, with admin consent -----------------------------------
Connect-MgGraph -Scopes "Application.Read.All", "AppRoleAssignment.ReadWrite.All" -NoWelcome
$app = Get-MgServicePrincipal -Filter "appId eq '$AppId'"
if (-not $app) { throw "No service principal for $AppId in this tenant: deploy infra/azuredeploy.json first (its managed identity), or create a single-tenant app registration." }
$graph = Get-MgServicePrincipal -Filter "appId eq '$GraphAppId'"
$existing = Get-MgServicePrincipalAppRoleAssignment -ServicePrincipalId $app.Id
foreach ($permission in $Permissions) {
    $role = $graph.AppRoles | Where-Object { $_.Value -eq $permission -and $_.AllowedMemberTypes -contains "Application" }
    if (-not $role) { throw "Graph has no application permission $permission" }
    if ($existing | Where-Object { $_.AppRoleId -eq $role.Id }) {
        Write-Host "Graph permission $permission already granted"
        continue
    }
    if ($PSCmdlet.ShouldProcess($permission, "Grant Graph application permission")) {
        New-MgServicePrincipalAppRoleAssignment -ServicePrincipalId $app.Id -PrincipalId $app.Id -ResourceId $graph.Id -AppRoleId $role.Id | Out-Null
        Write-Host "Granted $permission"
    }
}

# --- 2. Teams application access policy (online meetings on behalf of teachers) -------------
Connect-MicrosoftTeams | Out-Null
if (-not (Get-CsApplicationAccessPolicy -Identity $PolicyName -ErrorAction SilentlyContinue)) {
    New-CsApplicationAccessPolicy -Identity $PolicyName -AppIds "$AppId" -Description "Chaperone: create and configure pupil session meetings" | Out-Null
}
Grant-CsApplicationAccessPolicy -PolicyName $PolicyName -Group "$TeachersGroupId"
Write-Host "Application access policy $PolicyName granted to the teachers' group (allow up to 30 minutes to apply)."

# --- 3. Calendar access limited to the teachers' mailboxes ----------------------------------
Connect-ExchangeOnline -ShowBanner:$false
New-ApplicationAccessPolicy -AppId "$AppId" -PolicyScopeGroupId $TeachersGroupMail -AccessRight RestrictAccess `
    -Description "Chaperone may use the calendars of the staff who book sessions only" | Out-Null
Test-ApplicationAccessPolicy -AppId "$AppId" -Identity $TeachersGroupMail | Format-List AccessCheckResult

# --- 4. Recommended Teams meeting policy for the teachers -----------------------------------
if (-not $SkipMeetingPolicy) {
    $meetingPolicy = "$PolicyName-Pupil-Sessions"
    if (-not (Get-CsTeamsMeetingPolicy -Identity $meetingPolicy -ErrorAction SilentlyContinue)) {
        New-CsTeamsMeetingPolicy -Identity $meetingPolicy | Out-Null
    }
    Set-CsTeamsMeetingPolicy -Identity $meetingPolicy `
        -AutoAdmittedUsers "OrganizerOnly" `
        -AllowPSTNUsersToBypassLobby $false `
        -AllowAnonymousUsersToJoinMeeting $true `
        -AllowAnonymousUsersToStartMeeting $false `
        -AllowOrganizersToOverrideLobbySettings $false `
        -DesignatedPresenterRoleMode "OrganizerOnlyUserOverride" `
        -AllowTranscription $false
    Grant-CsTeamsMeetingPolicy -PolicyName $meetingPolicy -Group "$TeachersGroupId" -Rank 1
    Write-Host "Meeting policy $meetingPolicy granted: lobby for everyone but the organiser, not overridable."
}

Write-Host "Done. The Azure deployment already sets CHAPERONE_MEETINGS=graph and CHAPERONE_GRAPH_CREDENTIAL=managed-identity."
Write-Host "On other hosts set CHAPERONE_GRAPH_TENANT_ID, CHAPERONE_GRAPH_CLIENT_ID and CHAPERONE_GRAPH_CERTIFICATE_PATH (or CHAPERONE_GRAPH_CLIENT_SECRET)."
