// The Entra app registration Easy Auth validates tokens for, with Registrar's app roles
// (infra/app-roles.json), a delegated scope for the command line, and its service principal.
//
// main.bicep deploys this module twice with the same uniqueName: first without clients (so the
// scope exists and Easy Auth can be configured with the app's client ID), then, once the function
// app exists, with the Azure CLI pre-authorized for the scope and the app's Easy Auth callback as a
// redirect URI. Microsoft Graph refuses to pre-authorize a scope in the request that creates it,
// and the callback needs the function app's host name: hence two passes of one definition.
extension microsoftGraphV1

@description('Unique name of the app registration (stable across deployments: it is the key Graph upserts on).')
param uniqueName string
param displayName string
@description('Second pass: pre-authorize the Azure CLI for the scope and add the Easy Auth callback.')
param withClients bool = false
@description('Easy Auth login callback of the function app (second pass only).')
param redirectUri string = ''
@description('Object ID of a principal to give Registrar.Admin (the deployer by default; empty: none).')
param adminPrincipalId string = ''

// The Azure CLI's public client ID: `registrar` and `az account get-access-token` ask for tokens through it.
var azureCliAppId = '04b07795-8ddb-461a-bbee-02f9e1bf7b46'
var roles = loadJsonContent('../app-roles.json')
var scopeId = guid(uniqueName, 'user_impersonation')
var scope = {
  id: scopeId
  value: 'user_impersonation'
  type: 'User'
  isEnabled: true
  adminConsentDisplayName: 'Use Registrar'
  adminConsentDescription: 'Call the Registrar Admin API as the signed-in user.'
  userConsentDisplayName: 'Use Registrar'
  userConsentDescription: 'Call the Registrar Admin API as you.'
}

resource app 'Microsoft.Graph/applications@v1.0' = {
  uniqueName: uniqueName
  displayName: displayName
  signInAudience: 'AzureADMyOrg'
  appRoles: roles
  api: {
    requestedAccessTokenVersion: 2
    oauth2PermissionScopes: [scope]
    preAuthorizedApplications: withClients ? [{ appId: azureCliAppId, delegatedPermissionIds: [scopeId] }] : []
  }
  web: {
    redirectUris: withClients && !empty(redirectUri) ? [redirectUri] : []
    // Easy Auth's browser sign-in uses the OpenID Connect implicit flow for the ID token.
    implicitGrantSettings: { enableIdTokenIssuance: true }
  }
  owners: { relationships: empty(adminPrincipalId) ? [] : [adminPrincipalId] }
}

// Only principals given an app role may get a token for the API.
resource sp 'Microsoft.Graph/servicePrincipals@v1.0' = {
  appId: app.appId
  appRoleAssignmentRequired: true
}

resource adminAssignment 'Microsoft.Graph/appRoleAssignedTo@v1.0' = if (withClients && !empty(adminPrincipalId)) {
  principalId: adminPrincipalId
  resourceId: sp.id
  appRoleId: first(filter(roles, r => r.value == 'Registrar.Admin')).id
}

output clientId string = app.appId
output servicePrincipalId string = sp.id
