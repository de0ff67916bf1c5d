// Optional Event Grid topic ADT can route to; the subscription to the TwinUpdatesEventGrid
// function is created after the code is deployed (scripts/eventgrid-subscription.sh), because
// Event Grid validates a function destination when the subscription is made.

param name string
param location string
param tags object

@allowed([
  'EventGridSchema'
  'CloudEventSchemaV1_0'
])
param inputSchema string

resource topic 'Microsoft.EventGrid/topics@2022-06-15' = {
  name: name
  location: location
  tags: tags
  properties: {
    inputSchema: inputSchema
    publicNetworkAccess: 'Enabled'
    // ADT's Event Grid endpoint authenticates with the topic's access keys.
    disableLocalAuth: false
  }
}

output name string = topic.name
output id string = topic.id
output endpoint string = topic.properties.endpoint
