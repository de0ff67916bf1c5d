// The ADT endpoint for the optional Event Grid topic. A module of its own so that, when Event Grid
// is off, nothing here (listKeys on a topic that does not exist) is evaluated.

param digitalTwinsName string
param topicName string
param endpointName string

resource instance 'Microsoft.DigitalTwins/digitalTwinsInstances@2023-01-31' existing = {
  name: digitalTwinsName
}

resource topic 'Microsoft.EventGrid/topics@2022-06-15' existing = {
  name: topicName
}

// ADT's Event Grid endpoints authenticate with the topic's access keys only.
resource endpoint 'Microsoft.DigitalTwins/digitalTwinsInstances/endpoints@2023-01-31' = {
  parent: instance
  name: endpointName
  properties: {
    endpointType: 'EventGrid'
    authenticationType: 'KeyBased'
    TopicEndpoint: topic.properties.endpoint
    accessKey1: topic.listKeys().key1
    accessKey2: topic.listKeys().key2
  }
}

output name string = endpoint.name
