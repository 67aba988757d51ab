#ifndef STOREY_CMOSQUITTO_SHIM_H
#define STOREY_CMOSQUITTO_SHIM_H
#include <mosquitto.h>
#include <mqtt_protocol.h>
#endif
