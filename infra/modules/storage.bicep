// The storage account behind AzureWebJobsStorage (and, on Elastic Premium, the content share),
// plus the container Event Grid dead-letters into when the Event Grid path is on.

param name string
param location string
param tags object

@description('Blob container for Event Grid dead letters; empty: none.')
param deadLetterContainerName string = ''

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    // Shared keys stay on: the Elastic Premium content share (Azure Files) and Linux
    // Consumption deployments cannot use an identity.
    allowSharedKeyAccess: true
    defaultToOAuthAuthentication: true
  }
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource deadLetters 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = if (!empty(deadLetterContainerName)) {
  parent: blobs
  name: empty(deadLetterContainerName) ? 'unused' : deadLetterContainerName
  properties: {
    publicAccess: 'None'
  }
}

output name string = account.name
output id string = account.id
