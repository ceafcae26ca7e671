include $(sort $(wildcard $(BR2_EXTERNAL_SEBRIDGE_PATH)/package/*/*.mk))
