/**
 * The Pub/Sub API service (eventbus.v1.PubSub) as a protobufjs JSON descriptor, generated from pubsub_api.proto of
 * https://github.com/forcedotcom/pub-sub-api (commit 0ba4701, vendored as test/emulators/byoc/pubsub_api.proto) with
 * protobufjs `Root.toJSON()`, so the bridge needs no .proto file at run time. Regenerate when the proto changes.
 */
export const PUBSUB_API_DESCRIPTOR = {
    nested: {
        eventbus: {
            nested: {
                v1: {
                    options: {
                        java_multiple_files: true,
                        java_package: 'com.salesforce.eventbus.protobuf',
                        java_outer_classname: 'PubSubProto',
                        go_package: 'github.com/developerforce/pub-sub-api/go/proto'
                    },
                    nested: {
                        TopicInfo: {
                            fields: {
                                topicName: {
                                    type: 'string',
                                    id: 1
                                },
                                tenantGuid: {
                                    type: 'string',
                                    id: 2
                                },
                                canPublish: {
                                    type: 'bool',
                                    id: 3
                                },
                                canSubscribe: {
                                    type: 'bool',
                                    id: 4
                                },
                                schemaId: {
                                    type: 'string',
                                    id: 5
                                },
                                rpcId: {
                                    type: 'string',
                                    id: 6
                                }
                            }
                        },
                        TopicRequest: {
                            fields: {
                                topicName: {
                                    type: 'string',
                                    id: 1
                                }
                            }
                        },
                        EventHeader: {
                            fields: {
                                key: {
                                    type: 'string',
                                    id: 1
                                },
                                value: {
                                    type: 'bytes',
                                    id: 2
                                }
                            }
                        },
                        ProducerEvent: {
                            fields: {
                                id: {
                                    type: 'string',
                                    id: 1
                                },
                                schemaId: {
                                    type: 'string',
                                    id: 2
                                },
                                payload: {
                                    type: 'bytes',
                                    id: 3
                                },
                                headers: {
                                    rule: 'repeated',
                                    type: 'EventHeader',
                                    id: 4
                                }
                            }
                        },
                        ConsumerEvent: {
                            fields: {
                                event: {
                                    type: 'ProducerEvent',
                                    id: 1
                                },
                                replayId: {
                                    type: 'bytes',
                                    id: 2
                                }
                            }
                        },
                        PublishResult: {
                            fields: {
                                replayId: {
                                    type: 'bytes',
                                    id: 1
                                },
                                error: {
                                    type: 'Error',
                                    id: 2
                                },
                                correlationKey: {
                                    type: 'string',
                                    id: 3
                                }
                            }
                        },
                        Error: {
                            fields: {
                                code: {
                                    type: 'ErrorCode',
                                    id: 1
                                },
                                msg: {
                                    type: 'string',
                                    id: 2
                                }
                            }
                        },
                        ErrorCode: {
                            values: {
                                UNKNOWN: 0,
                                PUBLISH: 1,
                                COMMIT: 2
                            }
                        },
                        ReplayPreset: {
                            values: {
                                LATEST: 0,
                                EARLIEST: 1,
                                CUSTOM: 2
                            }
                        },
                        FetchRequest: {
                            fields: {
                                topicName: {
                                    type: 'string',
                                    id: 1
                                },
                                replayPreset: {
                                    type: 'ReplayPreset',
                                    id: 2
                                },
                                replayId: {
                                    type: 'bytes',
                                    id: 3
                                },
                                numRequested: {
                                    type: 'int32',
                                    id: 4
                                },
                                authRefresh: {
                                    type: 'string',
                                    id: 5
                                }
                            }
                        },
                        FetchResponse: {
                            fields: {
                                events: {
                                    rule: 'repeated',
                                    type: 'ConsumerEvent',
                                    id: 1
                                },
                                latestReplayId: {
                                    type: 'bytes',
                                    id: 2
                                },
                                rpcId: {
                                    type: 'string',
                                    id: 3
                                },
                                pendingNumRequested: {
                                    type: 'int32',
                                    id: 4
                                }
                            }
                        },
                        SchemaRequest: {
                            fields: {
                                schemaId: {
                                    type: 'string',
                                    id: 1
                                }
                            }
                        },
                        SchemaInfo: {
                            fields: {
                                schemaJson: {
                                    type: 'string',
                                    id: 1
                                },
                                schemaId: {
                                    type: 'string',
                                    id: 2
                                },
                                rpcId: {
                                    type: 'string',
                                    id: 3
                                }
                            }
                        },
                        PublishRequest: {
                            fields: {
                                topicName: {
                                    type: 'string',
                                    id: 1
                                },
                                events: {
                                    rule: 'repeated',
                                    type: 'ProducerEvent',
                                    id: 2
                                },
                                authRefresh: {
                                    type: 'string',
                                    id: 3
                                }
                            }
                        },
                        PublishResponse: {
                            fields: {
                                results: {
                                    rule: 'repeated',
                                    type: 'PublishResult',
                                    id: 1
                                },
                                schemaId: {
                                    type: 'string',
                                    id: 2
                                },
                                rpcId: {
                                    type: 'string',
                                    id: 3
                                }
                            }
                        },
                        ManagedFetchRequest: {
                            fields: {
                                subscriptionId: {
                                    type: 'string',
                                    id: 1
                                },
                                developerName: {
                                    type: 'string',
                                    id: 2
                                },
                                numRequested: {
                                    type: 'int32',
                                    id: 3
                                },
                                authRefresh: {
                                    type: 'string',
                                    id: 4
                                },
                                commitReplayIdRequest: {
                                    type: 'CommitReplayRequest',
                                    id: 5
                                }
                            }
                        },
                        ManagedFetchResponse: {
                            fields: {
                                events: {
                                    rule: 'repeated',
                                    type: 'ConsumerEvent',
                                    id: 1
                                },
                                latestReplayId: {
                                    type: 'bytes',
                                    id: 2
                                },
                                rpcId: {
                                    type: 'string',
                                    id: 3
                                },
                                pendingNumRequested: {
                                    type: 'int32',
                                    id: 4
                                },
                                commitResponse: {
                                    type: 'CommitReplayResponse',
                                    id: 5
                                }
                            }
                        },
                        CommitReplayRequest: {
                            fields: {
                                commitRequestId: {
                                    type: 'string',
                                    id: 1
                                },
                                replayId: {
                                    type: 'bytes',
                                    id: 2
                                }
                            }
                        },
                        CommitReplayResponse: {
                            fields: {
                                commitRequestId: {
                                    type: 'string',
                                    id: 1
                                },
                                replayId: {
                                    type: 'bytes',
                                    id: 2
                                },
                                error: {
                                    type: 'Error',
                                    id: 3
                                },
                                processTime: {
                                    type: 'int64',
                                    id: 4
                                }
                            }
                        },
                        PubSub: {
                            methods: {
                                Subscribe: {
                                    requestType: 'FetchRequest',
                                    requestStream: true,
                                    responseType: 'FetchResponse',
                                    responseStream: true
                                },
                                GetSchema: {
                                    requestType: 'SchemaRequest',
                                    responseType: 'SchemaInfo'
                                },
                                GetTopic: {
                                    requestType: 'TopicRequest',
                                    responseType: 'TopicInfo'
                                },
                                Publish: {
                                    requestType: 'PublishRequest',
                                    responseType: 'PublishResponse'
                                },
                                PublishStream: {
                                    requestType: 'PublishRequest',
                                    requestStream: true,
                                    responseType: 'PublishResponse',
                                    responseStream: true
                                },
                                ManagedSubscribe: {
                                    requestType: 'ManagedFetchRequest',
                                    requestStream: true,
                                    responseType: 'ManagedFetchResponse',
                                    responseStream: true
                                }
                            }
                        }
                    }
                }
            }
        }
    }
} as const;
